// Versions written into checkpoints. "pytorch-lightning_version" names the Lightning release
// whose checkpoint layout we write (Lightning migrates older layouts by this number, so it
// must be a real Lightning version); "fulgur_version" says who wrote the file.
#pragma once

namespace fulgur::lightning {

inline constexpr const char* kLightningVersion = "2.4.0";
inline constexpr const char* kFulgurVersion = "0.1.0";

}  // namespace fulgur::lightning
