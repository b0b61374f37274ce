// The native tests build the kernels with their contracts checked (CONV1X1_CONTRACTS): a violation
// becomes an exception, which the case that ran the kernel reports as a failure with the condition
// and where it is.
#include <stdexcept>
#include <string>

#include "../kernels/pointwise.h"

namespace conv1x1 {
namespace kernels {

void contract_violated(const char* condition, const char* file, int line) {
  throw std::logic_error(std::string("kernel contract ") + condition + " does not hold at " + file + ":" +
                         std::to_string(line));
}

}  // namespace kernels
}  // namespace conv1x1
