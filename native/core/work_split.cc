#include "work_split.h"

#include <algorithm>
#include <numeric>

namespace conv1x1 {

int64_t pieces_per_block(int64_t blocks, double macs, int threads) {
  if (blocks >= threads) {
    // Few blocks that do not share out evenly (3 groups on 2 threads: one thread does two while the
    // other waits) are cut so that they do; many blocks even out well enough on their own.
    if (blocks % threads == 0 || blocks >= 4 * static_cast<int64_t>(threads)) return 1;
    const int64_t even = threads / std::gcd(blocks, static_cast<int64_t>(threads));
    return macs / static_cast<double>(even) >= static_cast<double>(kMinPieceMacs) ? even : 1;
  }
  const int64_t for_threads = (threads + blocks - 1) / blocks;
  const double for_work = macs / static_cast<double>(kMinPieceMacs);
  return for_work < static_cast<double>(for_threads) ? std::max<int64_t>(1, static_cast<int64_t>(for_work))
                                                     : for_threads;
}

int64_t even_piece(int64_t extent, int64_t pieces, int64_t quantum) {
  const int64_t quanta = (extent + quantum - 1) / quantum;
  const int64_t per_piece = (quanta + pieces - 1) / std::max<int64_t>(pieces, 1);
  return std::max<int64_t>(1, per_piece) * quantum;
}

}  // namespace conv1x1
