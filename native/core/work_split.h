#pragma once
// How finely to cut a convolution's work for the threads of one call.
#include <cstdint>

namespace conv1x1 {

// Below this many multiply-adds (~4 µs of work) a piece is not worth handing to another thread.
constexpr int64_t kMinPieceMacs = int64_t{1} << 18;

// How many pieces each of `blocks` independent products of `macs` multiply-adds should be cut into
// so that `threads` threads all get work, and few blocks share out evenly, without making pieces too
// small to be worth a thread.
// (The work is a double: a product of three sizes can exceed 64 bits.)
int64_t pieces_per_block(int64_t blocks, double macs, int threads);

// Cuts [0, extent) into `pieces` ranges of whole quanta (the last may be shorter): the range size.
int64_t even_piece(int64_t extent, int64_t pieces, int64_t quantum);

}  // namespace conv1x1
