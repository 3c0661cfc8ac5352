// parse_python_literal against Python's own ast.literal_eval (run here through python3): the
// same value (compared by repr) where Python reads a literal Value can hold, and an error where
// Python raises. What we refuse on purpose (sets, bytes, complex, big ints, ...) is checked apart.
#include <cstdio>
#include <fstream>
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

// Python's reading of each case: "OK <repr>" or "ERR".
std::vector<std::string> python_reads(const std::vector<std::string>& cases) {
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
  std::string out;
  const int status = fulgur::testing::run_command(
      "PYTHONIOENCODING=utf-8 /usr/bin/python3 -c " + fulgur::testing::shell_quoted(script) + " " + file, out);
  REQUIRE_MESSAGE(status == 0, out);
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
  };
  const std::vector<std::string> python = python_reads(cases);
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i]);
    CHECK(ours(cases[i]) == python[i]);
  }
}

TEST_CASE("parse_python_literal: what Python reads but Value cannot hold is an error, not a wrong value") {
  for (const char* text : {"{1, 2}", "b'x'", "1j", "2+3j", "99999999999999999999", "-9223372036854775809", "r'x'",
                           "'a' 'b'", "'''x'''", "{(1, 2): 3}", "{1.5: 2}", "set()"}) {
    CAPTURE(text);
    CHECK_THROWS_AS(parse_python_literal(text), Error);
  }
  // Errors say what and where.
  const std::string msg = fulgur::testing::error_message([] { (void)parse_python_literal("[1, 2"); });
  CHECK(msg.find("parse_python_literal") != std::string::npos);
  CHECK(msg.find("at offset") != std::string::npos);
  // Nesting is bounded.
  CHECK_THROWS_AS(parse_python_literal(std::string(200, '[') + std::string(200, ']')), Error);
  CHECK(parse_python_literal(std::string(50, '[') + std::string(50, ']')).is_list());
}
