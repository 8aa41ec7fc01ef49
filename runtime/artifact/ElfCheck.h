//===- ElfCheck.h - An artifact file's ELF structure, before dlopen -*- C++
//-*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// dlopen maps a shared library's segments at the file offsets its program
// headers give, without comparing them with the file's size: a truncated
// library (an interrupted copy or download) then raises SIGBUS inside the
// loader, before any code of ours could report it. checkSharedLibraryFile
// reads the ELF header and the program headers and refuses a file that is
// not a 64-bit little-endian shared library for this machine, or whose
// segments or header tables run past its end. It checks structure, not
// integrity: a library with corrupted code still loads (docs/validation.md).
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_RUNTIME_ARTIFACT_ELFCHECK_H
#define JIKJI_RUNTIME_ARTIFACT_ELFCHECK_H

#include "frontends/huggingface/Result.h"

#include <string>

namespace jikji::runtime {

/// Checks that the file at `path` is an ELF shared library dlopen can map
/// without reading past the file's end. Messages start with
/// "<path>: cannot load the artifact: ".
Result<bool> checkSharedLibraryFile(const std::string &path);

} // namespace jikji::runtime

#endif // JIKJI_RUNTIME_ARTIFACT_ELFCHECK_H
