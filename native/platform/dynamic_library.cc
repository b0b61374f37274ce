#include "dynamic_library.h"

#include <utility>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#if defined(__linux__)
#include <link.h>
#endif
#endif

namespace conv1x1 {

DynamicLibrary::~DynamicLibrary() {
  if (!handle_) return;
#if defined(_WIN32)
  FreeLibrary(static_cast<HMODULE>(handle_));
#else
  dlclose(handle_);
#endif
}

DynamicLibrary::DynamicLibrary(DynamicLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), name_(std::move(other.name_)) {}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& other) noexcept {
  if (this != &other) {
    DynamicLibrary dying(std::move(*this));
    handle_ = std::exchange(other.handle_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

bool DynamicLibrary::open(const std::string& name, std::string* error) {
  name_ = name;
#if defined(_WIN32)
  int wide_len = MultiByteToWideChar(CP_UTF8, 0, name.c_str(), -1, nullptr, 0);
  std::wstring wide(wide_len > 0 ? wide_len : 1, L'\0');
  MultiByteToWideChar(CP_UTF8, 0, name.c_str(), -1, &wide[0], wide_len);
  const bool has_path = name.find_first_of("/\\") != std::string::npos;
  DWORD flags = has_path ? LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS
                         : LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32;
  handle_ = LoadLibraryExW(wide.c_str(), nullptr, flags);
  if (!handle_) {
    *error = name + ": LoadLibraryExW failed with error " + std::to_string(GetLastError());
    return false;
  }
#else
  // RTLD_LOCAL keeps the library's symbols out of the global namespace (another BLAS in the process,
  // e.g. numpy's, must not bind to ours).
  handle_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* message = dlerror();
    *error = message ? message : (name + ": dlopen failed");
    return false;
  }
#endif
  return true;
}

void* DynamicLibrary::symbol(const char* name) const {
  if (!handle_) return nullptr;
#if defined(_WIN32)
  return reinterpret_cast<void*>(GetProcAddress(static_cast<HMODULE>(handle_), name));
#else
  return dlsym(handle_, name);
#endif
}

std::string DynamicLibrary::resolved_path() const {
#if defined(__linux__)
  struct link_map* map = nullptr;
  if (handle_ && dlinfo(handle_, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name && *map->l_name) {
    return map->l_name;
  }
#elif defined(_WIN32)
  wchar_t buffer[4096];
  DWORD len = handle_ ? GetModuleFileNameW(static_cast<HMODULE>(handle_), buffer, 4096) : 0;
  if (len > 0 && len < 4096) {
    int utf8_len = WideCharToMultiByte(CP_UTF8, 0, buffer, len, nullptr, 0, nullptr, nullptr);
    std::string out(utf8_len, '\0');
    WideCharToMultiByte(CP_UTF8, 0, buffer, len, &out[0], utf8_len, nullptr, nullptr);
    return out;
  }
#endif
  return name_;
}

}  // namespace conv1x1
