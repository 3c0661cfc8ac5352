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
// \uHHHH; other backslashes stay); lists, tuples and dicts (str or int keys) of these, nested up to 100 deep. Leading
// spaces and tabs are skipped, trailing whitespace allowed, as literal_eval does.
//
// Everything else throws fulgur::Error: what literal_eval refuses (names such as inf or nan,
// calls, operators, leading-zero ints like 010), and what Value cannot hold or we do not read
// (sets, bytes, complex numbers, prefixed or implicitly concatenated strings, ints past int64).
// Value::repr() prints what this parses back to the same text.
#pragma once

#include <string>

#include "fulgur/tensor/value.h"

namespace fulgur {

Value parse_python_literal(const std::string& text);

}  // namespace fulgur
