# Cross build for 64-bit Windows with Debian's mingw-w64. The -posix compilers: the default -win32
# ones of GCC 12 have no std::thread or std::mutex, which the core's thread pool needs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# GCC cannot realign the stack on 64-bit Windows (GCC bug 54412): an AVX spill it emits as an aligned
# move would fault on a 16-byte-aligned slot, so the assembler writes every vector move unaligned.
set(CMAKE_CXX_FLAGS_INIT "-Wa,-muse-unaligned-vector-move")
# A self-contained .exe: no libstdc++/libgcc/libwinpthread DLLs to put beside it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
