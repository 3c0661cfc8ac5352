// Python's format-spec mini-language for one number, as ModelCheckpoint's filename templates
// use it (`{val_loss:.2f}`, `{epoch:03d}`): fill, align, sign, '#', width, ',' or '_'
// grouping, precision, and the types d n e E f F g G %, or none (Python's str of the value).
// Lightning's metrics are 0-d tensors whose __format__ formats item(); here a value is an int
// (is_int: epoch, step) or a float. Errors (fulgur::Error) follow Python's wording and name
// the template field.
#pragma once

#include <string>

namespace fulgur::lightning::callbacks {

std::string python_format_number(double value, bool is_int, const std::string& spec, const std::string& field);

}  // namespace fulgur::lightning::callbacks
