// The unqualified name of an object's dynamic type, as Python's `type(obj).__name__`: Lightning
// puts it in checkpoints (a callback's state key), profiler actions ("[LightningModule]LitModel
// .training_step") and messages.
#pragma once

#include <string>
#include <typeinfo>

namespace fulgur::lightning {

// ns::Wrap<ns::M> -> "Wrap<ns::M>"; the mangled name if the ABI cannot demangle it.
std::string python_class_name(const std::type_info& type);

}  // namespace fulgur::lightning
