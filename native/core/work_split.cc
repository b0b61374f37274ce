#include "work_split.h"

#include <algorithm>

namespace conv1x1 {

int64_t pieces_per_block(int64_t blocks, double macs, int threads) {
  if (blocks >= threads) return 1;
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
