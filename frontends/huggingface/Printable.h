//===- Printable.h - File-provided text, safe to print ----------*- C++ -*-===//
//
// Part of Jikji, a compiler for DeepSeek models.
//
//===----------------------------------------------------------------------===//
//
// Messages quote names that come from the files being checked: tensor names,
// shard names, manifest fields. Printed as they are, a name holding
// "\x1b[2K\r" and a newline erases the line it is on and writes a forged
// one; bidirectional overrides reorder what a reader sees. printable()
// escapes every such character, so a quoted name is one line that shows
// exactly what the file holds.
//
//===----------------------------------------------------------------------===//

#ifndef JIKJI_FRONTENDS_HUGGINGFACE_PRINTABLE_H
#define JIKJI_FRONTENDS_HUGGINGFACE_PRINTABLE_H

#include <string>
#include <string_view>

namespace jikji::hf {

/// `text` with C0 controls, DEL and backslash as \t, \n, \r, \\ or \xNN,
/// bytes that are not UTF-8 as \xNN, and the C1 controls, the line and
/// paragraph separators and the bidirectional controls (U+0080..U+009F,
/// U+2028, U+2029, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) as
/// \u{NNNN}. Other text, non-ASCII letters included, is unchanged.
std::string printable(std::string_view text);

} // namespace jikji::hf

#endif // JIKJI_FRONTENDS_HUGGINGFACE_PRINTABLE_H
