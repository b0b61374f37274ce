#pragma once
// A shared library opened at run time (dlopen / LoadLibraryExW), closed when the object dies.
#include <string>

namespace conv1x1 {

class DynamicLibrary {
 public:
  DynamicLibrary() = default;
  ~DynamicLibrary();
  DynamicLibrary(DynamicLibrary&& other) noexcept;
  DynamicLibrary& operator=(DynamicLibrary&& other) noexcept;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // Returns false and fills *error on failure. A bare name is searched by the system loader (on
  // Windows only in the application directory, AddDllDirectory's and System32, never the current
  // directory or PATH); a name with a directory part opens that file.
  bool open(const std::string& name, std::string* error);
  void* symbol(const char* name) const;
  bool is_open() const { return handle_ != nullptr; }
  // The file the loader actually mapped, when the platform can tell; otherwise the name given.
  std::string resolved_path() const;

 private:
  void* handle_ = nullptr;
  std::string name_;
};

}  // namespace conv1x1
