#include "dynamic_library.h"

#include <utility>

#if defined(_WIN32)
#include "windows_api.h"
#else
#include <dlfcn.h>
#if defined(__linux__)
#include <link.h>
#endif
#endif

namespace conv1x1 {

#if defined(_WIN32)
namespace {

// Empty when the text is not valid UTF-8 (a name that cannot be what the caller meant).
std::wstring utf8_to_wide(const std::string& text) {
  if (text.empty()) return std::wstring();
  const int size = static_cast<int>(text.size());
  const int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), size, nullptr, 0);
  if (length <= 0) return std::wstring();
  std::wstring wide(static_cast<size_t>(length), L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, text.data(), size, &wide[0], length);
  return wide;
}

std::string wide_to_utf8(const wchar_t* text, int length) {
  const int size = WideCharToMultiByte(CP_UTF8, 0, text, length, nullptr, 0, nullptr, nullptr);
  if (size <= 0) return std::string();
  std::string out(static_cast<size_t>(size), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text, length, &out[0], size, nullptr, nullptr);
  return out;
}

// "error 126 (The specified module could not be found.)": the code alone means little to a user.
std::string describe_windows_error(DWORD code) {
  std::string text = "error " + std::to_string(code);
  wchar_t* message = nullptr;
  const DWORD length = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<wchar_t*>(&message), 0, nullptr);
  if (length > 0 && message) {
    std::string words = wide_to_utf8(message, static_cast<int>(length));
    while (!words.empty() && (words.back() == '\n' || words.back() == '\r' || words.back() == ' ')) {
      words.pop_back();
    }
    if (!words.empty()) text += " (" + words + ")";
  }
  if (message) LocalFree(message);
  return text;
}

}  // namespace
#endif

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
  // The loaders take C strings: a name with a NUL inside would silently open a shorter one.
  if (name.empty() || name.find('\0') != std::string::npos) {
    *error = "not a library file name: \"" + name.substr(0, name.find('\0')) + "\"";
    return false;
  }
#if defined(_WIN32)
  std::wstring wide = utf8_to_wide(name);
  if (wide.empty()) {
    *error = name + ": not a valid UTF-8 file name";
    return false;
  }
  // A bare name is looked for only in the application's directory, the directories the process
  // added with AddDllDirectory and System32: never the current directory or PATH, where a planted
  // DLL would be picked up. A name with a directory part is that file alone, made absolute (as
  // LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR requires), and its own dependencies are looked for beside it.
  DWORD flags = LOAD_LIBRARY_SEARCH_DEFAULT_DIRS;
  if (name.find_first_of("/\\:") != std::string::npos) {
    const DWORD needed = GetFullPathNameW(wide.c_str(), 0, nullptr, nullptr);
    std::wstring full(needed > 0 ? needed : 1, L'\0');
    const DWORD length = needed > 0 ? GetFullPathNameW(wide.c_str(), needed, &full[0], nullptr) : 0;
    const DWORD code = GetLastError();
    if (length == 0 || length >= needed) {
      *error = name + ": GetFullPathNameW failed with " + describe_windows_error(code);
      return false;
    }
    full.resize(length);
    wide = full;
    flags |= LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR;
  }
  // A missing dependency or a bad image must come back as an error, not as a dialog box that
  // blocks a server with nobody to click it.
  DWORD previous_mode = 0;
  const bool mode_set = SetThreadErrorMode(SEM_FAILCRITICALERRORS | SEM_NOOPENFILEERRORBOX,
                                           &previous_mode) != 0;
  handle_ = LoadLibraryExW(wide.c_str(), nullptr, flags);
  const DWORD code = handle_ ? 0 : GetLastError();
  if (mode_set) SetThreadErrorMode(previous_mode, nullptr);
  if (!handle_) {
    *error = name + ": LoadLibraryExW failed with " + describe_windows_error(code);
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
  const DWORD length = handle_ ? GetModuleFileNameW(static_cast<HMODULE>(handle_), buffer, 4096) : 0;
  // length == 4096: the path was cut short.
  if (length > 0 && length < 4096) {
    std::string path = wide_to_utf8(buffer, static_cast<int>(length));
    if (!path.empty()) return path;
  }
#endif
  return name_;
}

}  // namespace conv1x1
