#pragma once
// <windows.h> without its min/max macros (they break std::min) and without the rarely used APIs
// that slow every compile: include this one instead.
#if defined(_WIN32)
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#endif
