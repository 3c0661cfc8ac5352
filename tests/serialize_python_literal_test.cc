// parse_python_literal against Python's own ast.literal_eval (run here through python3): the
// same value (compared by repr) where Python reads a literal Value can hold, and an error where
// Python raises. What we refuse on purpose (sets, bytes, complex, big ints, ...) is checked apart.
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fulgur/serialize/python_literal.h"
#include "tests/subprocess_util.h"
#include "tests/test_util.h"

using fulgur::Error;
using fulgur::parse_python_literal;
using fulgur::Value;

namespace {

// Python's reading of each case: "OK <repr>" or "ERR"; nullopt when no python3 runs here.
std::optional<std::vector<std::string>> python_reads(const std::vector<std::string>& cases) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string file = std::string(dir != nullptr ? dir : "/tmp") + "/literal_cases.bin";
  {
    std::ofstream out(file, std::ios::binary);
    for (const std::string& c : cases) out << c << '\0';
  }
  const std::string script =
      "import ast, sys\n"
      "cases = open(sys.argv[1], 'rb').read().split(b'\\0')[:-1]\n"
      "for c in cases:\n"
      "    try:\n"
      "        print('OK', repr(ast.literal_eval(c.decode('utf-8'))))\n"
      "    except Exception:\n"
      "        print('ERR')\n";
  const std::string python = fulgur::testing::find_python().first;
  std::string out;
  // Warnings (a SyntaxWarning for '\\q' from Python 3.12) go to stderr, which is dropped.
  const int status = fulgur::testing::run_command(
      "(PYTHONIOENCODING=utf-8 " + fulgur::testing::shell_quoted(python) + " -W ignore -c " +
          fulgur::testing::shell_quoted(script) + " " + file + " 2>/dev/null)",
      out);
  if (status != 0) return std::nullopt;
  std::vector<std::string> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == cases.size());
  return lines;
}

std::string ours(const std::string& text) {
  try {
    return "OK " + parse_python_literal(text).repr();
  } catch (const Error&) {
    return "ERR";
  }
}

}  // namespace

TEST_CASE("parse_python_literal reads what ast.literal_eval reads, and refuses what it refuses") {
  const std::vector<std::string> cases = {
      // scalars
      "None", "True", "False", "0", "00", "0_0", "7", "-7", "+7", "--7", "- 7", "1_000", "0x_ff", "0XFF", "-0x10",
      "0o17", "0b1011", "9223372036854775807", "-9223372036854775808", "1.5", ".5", "5.", "1e3", "1E-3", "-2.5e+2",
      "1_0.2_5", "010.5", "1e999", "0.1", "1e-320", "  3", "\t3", "3  ", "3\n",
      // strings
      "'abc'", "\"abc\"", "'it\\'s'", "\"say \\\"hi\\\"\"", "'a\\nb\\tc'", "'\\x41\\u00e9'", "'\\101\\0'",
      "'\\q'", "'caf\xc3\xa9'", "''", "'a\\\\b'", "'\\a\\b\\f\\v'",
      // containers
      "[]", "()", "{}", "[1, 2, 3]", "[1, 2, 3,]", "(1,)", "(1)", "((1, 2), [3])", "{'a': 1, 'b': [2, 3]}",
      "{1: 'x', 2: 'y'}", "{'a': 1, 'a': 2}", "[ 1 ,\n 2 ]", "{'k': (None, True)}", "[[[]]]",
      // refused by Python too
      "", " ", "abc", "inf", "nan", "-inf", "010", "1__0", "1_", "_1", "0x", "1e", "1.2.3", "'abc", "[1, 2",
      "(1, 2", "{'a' 1}", "{'a': }", "1 2", "[1 2]", "x + 1", "f(1)", "'a' 'b' +", "[,]", "(,)", ".", "+", "-",
      "1.e", "0b2", "0o8", "True1", "None None",
      // whitespace and line breaks
      "\n3", "3\n\n", " \n 1", "-\n1", "[1,\n2]", "[-\n1]", "\v3", "3\v", "\f3", "(1,\n)", "{\n}", "- 1",
      "1 \\\n",
      // more escapes, raw control bytes in strings
      "'\\U0001F600'", "'a\\\nb'", "'a\\\r\nb'", "\"a\rb\"", "'\xed\xa0\x80'", "'\\U00110000'",
  };
  const std::optional<std::vector<std::string>> reads = python_reads(cases);
  if (!reads) {
    MESSAGE("SKIPPED: no python3 runs here to read the cases with ast.literal_eval");
    return;
  }
  const std::vector<std::string>& python = *reads;
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i]);
    CHECK(ours(cases[i]) == python[i]);
  }
}

TEST_CASE("parse_python_literal: what Python reads but Value cannot hold is an error, not a wrong value") {
  for (const char* text : {"{1, 2}", "b'x'", "1j", "2+3j", "99999999999999999999", "-9223372036854775809", "r'x'",
                           "'a' 'b'", "'''x'''", "{(1, 2): 3}", "{1.5: 2}", "set()",
                           "'\\N{BULLET}'", "'\\ud800'", "[1, \\\n 2]"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(parse_python_literal(text), Error);
  }
  // A NUL byte inside a string: Python refuses it as source text too.
  CHECK_THROWS_AS(parse_python_literal(std::string("'a\0b'", 5)), Error);
  // Errors say what and where.
  const std::string msg = fulgur::testing::error_message([] { (void)parse_python_literal("[1, 2"); });
  CHECK(msg.find("parse_python_literal") != std::string::npos);
  CHECK(msg.find("at offset") != std::string::npos);
  // Nesting is bounded.
  CHECK_THROWS_AS(parse_python_literal(std::string(200, '[') + std::string(200, ']')), Error);
  CHECK(parse_python_literal(std::string(50, '[') + std::string(50, ']')).is_list());
}
