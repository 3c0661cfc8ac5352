// Running other programs from tests (the Python oracles, torch interop): a shell command's
// status and output, shell quoting, and which Python to use.
#pragma once

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

namespace fulgur::testing {

// Runs a shell command; returns its exit status (-1: killed or not run) and appends its
// stdout + stderr to out.
inline int run_command(const std::string& cmd, std::string& out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// s in single quotes for sh.
inline std::string shell_quoted(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

// The Python with the oracle packages and where it came from: $FULGUR_TEST_PYTHON, else
// .ci/run's venv (~/.cache/fulgur/pyenv, Debian's Python plus PyPI's onnxruntime, tensorboard,
// mlflow-skinny), else /usr/bin/python3.
inline std::pair<std::string, std::string> find_python() {
  if (const char* p = std::getenv("FULGUR_TEST_PYTHON"); p != nullptr && *p != '\0') return {p, "$FULGUR_TEST_PYTHON"};
  if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    const std::string venv = std::string(pw->pw_dir) + "/.cache/fulgur/pyenv/bin/python3";
    if (::access(venv.c_str(), X_OK) == 0) return {venv, ".ci/run's venv"};
  }
  return {"/usr/bin/python3", "the default"};
}

// The names of the `modules` ({name to report, module to import}) that `python` cannot
// import: imported, not just found, so a wheel built for another numpy counts as missing.
// nullopt when `python` does not run at all.
inline std::optional<std::vector<std::string>> missing_python_modules(
    const std::string& python, const std::vector<std::pair<std::string, std::string>>& modules) {
  std::string script =
      "import importlib\n"
      "def bad(m):\n"
      "  try: importlib.import_module(m)\n"
      "  except Exception: return True\n"
      "  return False\n"
      "print('missing:', *[n for n, m in (";
  for (const auto& [name, module] : modules) script += "('" + name + "', '" + module + "'), ";
  script += ") if bad(m)])\n";
  std::string out;
  if (run_command(shell_quoted(python) + " -c " + shell_quoted(script), out) != 0 || out.rfind("missing:", 0) != 0) {
    return std::nullopt;
  }
  std::istringstream words(out.substr(8));
  std::vector<std::string> missing;
  for (std::string w; words >> w;) missing.push_back(w);
  return missing;
}

// Why a Python oracle test cannot run here, as its SKIPPED line, or nullopt when `python` runs
// and imports every module. `pip_packages` are what .ci/run installs into its venv for them.
inline std::optional<std::string> python_oracle_skip_reason(
    const std::string& oracle, const std::pair<std::string, std::string>& python_and_from,
    const std::vector<std::pair<std::string, std::string>>& modules, const std::string& pip_packages) {
  const auto& [python, from] = python_and_from;
  const auto missing = missing_python_modules(python, modules);
  if (missing && missing->empty()) return std::nullopt;
  std::string why = "SKIPPED: " + oracle + ": " + python + " (" + from + ") ";
  if (!missing) return why + "does not run (apt-get install python3, or --test_env=FULGUR_TEST_PYTHON=...)";
  why += "lacks";
  for (const std::string& m : *missing) why += " " + m;
  return why + " (/usr/bin/python3 -m venv --system-site-packages ~/.cache/fulgur/pyenv && " +
         "~/.cache/fulgur/pyenv/bin/pip install " + pip_packages +
         ", as .ci/run does; or --test_env=FULGUR_TEST_PYTHON=<a python3 with them>)";
}

}  // namespace fulgur::testing
