// Where metric warnings go (torchmetrics' rank_zero_warn / Python's UserWarning).
//
// The default handler prints "UserWarning: <message>" to stderr the first time each distinct
// message is seen, as Python's default warning filter does. Tests and the trainer install
// their own handler to capture or reroute them.
#pragma once

#include <functional>
#include <string>

namespace fulgur::metrics {

using WarningHandler = std::function<void(const std::string& message)>;

// Installs `handler` (an empty function restores the default); returns the previous one.
// Thread-safe.
WarningHandler set_warning_handler(WarningHandler handler);

// Sends `message` to the current handler.
void warn(const std::string& message);

}  // namespace fulgur::metrics
