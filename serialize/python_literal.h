// parse_python_literal: the part of Python's ast.literal_eval that maps onto fulgur::Value, for
// text Lightning reads with it (a tags.csv's hyperparameter values, saving.convert).
//
//   parse_python_literal("0.001")             -> 0.001       parse_python_literal("True") -> true
//   parse_python_literal("[1, 'a', (2,)]")    -> [1, 'a', (2,)]
//   parse_python_literal("{'lr': 1e-3}")      -> {'lr': 0.001}
//
// Accepted, as Python writes them: None/True/False; ints (decimal without leading zeros, 0x,
// 0o, 0b, '_' between digits; one unary + or -) that fit int64; floats (1.5, .5, 5., 1e-3, with
// '_'); '...' or "..." strings (escapes \\ \' \" \a \b \f \n \r \t \v, octal \ooo, \xHH,
// \uHHHH, \UHHHHHHHH, backslash-newline; other backslashes stay); lists, tuples and dicts (str or
// int keys) of these, nested up to 100 deep. Whitespace as Python's tokenizer: spaces, tabs and
// form feeds between tokens, line breaks only inside brackets; leading spaces and tabs and
// surrounding blank lines are allowed, as literal_eval allows them.
//
// Everything else throws fulgur::Error: what literal_eval refuses (names such as inf or nan,
// calls, operators, leading-zero ints like 010, an indented line), and what Value cannot hold
// or we do not read (sets, bytes, complex numbers, prefixed, triple-quoted or implicitly
// concatenated strings, \N{name} escapes, lone surrogates, ints past int64, backslash line
// continuations outside strings). Value::repr() of a result prints text that parses back to
// it, unless it holds an inf or a nan (Python's repr of those is not a literal either).
#pragma once

#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur {

Value parse_python_literal(const std::string& text);

}  // namespace fulgur
