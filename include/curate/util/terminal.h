// Text that reaches a terminal or a shell: data and file names shown safely.
#pragma once

#include <string>
#include <string_view>

namespace curate {

// `text` with every byte or character a terminal would act on made visible: C0 controls other than
// newline and tab, DEL and invalid UTF-8 bytes as \xNN (ESC as \x1b, BEL as \x07, CR as \x0d), C1
// controls and the bidirectional overrides/isolates as \uNNNN. Valid UTF-8 text otherwise stays as it
// is. `keep_newlines` = false also shows '\n' as \x0a (a field that must stay on one line).
std::string escape_control(std::string_view text, bool keep_newlines = true);

}  // namespace curate
