//===- ElfCheck.cpp - An artifact file's ELF structure, before dlopen -----===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//

#include "runtime/artifact/ElfCheck.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace jikji;
using namespace jikji::runtime;

namespace {

/// The ELF machine this runtime runs on: an artifact for another cannot be
/// loaded (dlopen would say "wrong ELF class" or nothing useful).
#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
constexpr const char *kHostMachineName = "x86-64";
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
constexpr const char *kHostMachineName = "AArch64";
#else
#error "ElfCheck.cpp: add this machine's ELF e_machine"
#endif

/// Reads exactly `size` bytes at `offset`; false on a short read.
bool readAt(int descriptor, uint64_t offset, void *into, size_t size) {
  auto *bytes = static_cast<char *>(into);
  while (size > 0) {
    ssize_t got = ::pread(descriptor, bytes, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    bytes += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

/// "[begin, end)" of a byte range, for messages.
std::string range(uint64_t begin, uint64_t size) {
  return "[" + std::to_string(begin) + ", " + std::to_string(begin + size) +
         ")";
}

/// True when [offset, offset + count * entrySize) lies within `fileSize`,
/// computed without overflow.
bool tableFits(uint64_t offset, uint64_t count, uint64_t entrySize,
               uint64_t fileSize) {
  if (offset > fileSize)
    return false;
  return entrySize == 0 || count <= (fileSize - offset) / entrySize;
}

} // namespace

Result<bool> jikji::runtime::checkSharedLibraryFile(const std::string &path) {
  std::string prefix = path + ": cannot load the artifact: ";
  int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
    return Error(prefix + std::strerror(errno));
  struct Closer {
    int descriptor;
    ~Closer() { ::close(descriptor); }
  } closer{descriptor};
  struct stat info;
  if (::fstat(descriptor, &info) != 0)
    return Error(prefix + "cannot read its size: " + std::strerror(errno));
  uint64_t fileSize = static_cast<uint64_t>(info.st_size);

  Elf64_Ehdr header;
  std::memset(&header, 0, sizeof(header));
  size_t headerBytes = fileSize < sizeof(header) ? static_cast<size_t>(fileSize)
                                                 : sizeof(header);
  if (!readAt(descriptor, 0, &header, headerBytes))
    return Error(prefix + "cannot read: " + std::strerror(errno));
  if (headerBytes < sizeof(header)) {
    if (headerBytes >= SELFMAG && std::memcmp(&header, ELFMAG, SELFMAG) == 0)
      return Error(prefix + "truncated: the file is " +
                   std::to_string(fileSize) +
                   " bytes, shorter than an ELF header (64)");
    return Error(prefix + "not an ELF shared library (the file is " +
                 std::to_string(fileSize) + " bytes)");
  }
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return Error(prefix + "not an ELF shared library (no ELF magic number at "
                          "its start)");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB)
    return Error(prefix +
                 "expected a 64-bit little-endian ELF file, found "
                 "ELF class " +
                 std::to_string(header.e_ident[EI_CLASS]) + " and data " +
                 "encoding " + std::to_string(header.e_ident[EI_DATA]));
  if (header.e_type != ET_DYN)
    return Error(prefix +
                 "expected a shared library (ELF type ET_DYN, 3), "
                 "found ELF type " +
                 std::to_string(header.e_type));
  if (header.e_machine != kHostMachine)
    return Error(prefix + "built for ELF machine " +
                 std::to_string(header.e_machine) + "; this runtime runs on " +
                 kHostMachineName + " (" + std::to_string(kHostMachine) + ")");
  if (header.e_phentsize != sizeof(Elf64_Phdr) || header.e_phnum == 0)
    return Error(prefix + "expected program headers of " +
                 std::to_string(sizeof(Elf64_Phdr)) + " bytes, found " +
                 std::to_string(header.e_phnum) + " of " +
                 std::to_string(header.e_phentsize));
  if (!tableFits(header.e_phoff, header.e_phnum, sizeof(Elf64_Phdr), fileSize))
    return Error(
        prefix + "truncated: the program headers at " +
        range(header.e_phoff, uint64_t(header.e_phnum) * sizeof(Elf64_Phdr)) +
        " run past the end of the file (" + std::to_string(fileSize) +
        " bytes)");
  std::vector<Elf64_Phdr> segments(header.e_phnum);
  if (!readAt(descriptor, header.e_phoff, segments.data(),
              segments.size() * sizeof(Elf64_Phdr)))
    return Error(prefix +
                 "cannot read the program headers: " + std::strerror(errno));
  for (size_t i = 0; i < segments.size(); ++i) {
    const Elf64_Phdr &segment = segments[i];
    // Every segment whose bytes come from the file: what the loader maps
    // (PT_LOAD) and what it reads (PT_DYNAMIC and the others lie inside
    // those, but a corrupt header need not).
    if (segment.p_filesz == 0)
      continue;
    if (segment.p_offset > fileSize ||
        segment.p_filesz > fileSize - segment.p_offset)
      return Error(prefix + "truncated: segment " + std::to_string(i) +
                   " (bytes " + range(segment.p_offset, segment.p_filesz) +
                   ") runs past the end of the file (" +
                   std::to_string(fileSize) + " bytes)");
  }
  // The section headers are not needed to load, but a file cut short loses
  // them first (they come last): their absence is the surest sign of a
  // truncated copy.
  if (header.e_shnum != 0 &&
      !tableFits(header.e_shoff, header.e_shnum, header.e_shentsize, fileSize))
    return Error(
        prefix + "truncated: the section headers at " +
        range(header.e_shoff, uint64_t(header.e_shnum) * header.e_shentsize) +
        " run past the end of the file (" + std::to_string(fileSize) +
        " bytes)");
  return true;
}
