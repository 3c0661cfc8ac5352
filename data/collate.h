// Collation: turning a list of examples into one batch.
//
// default_collate follows PyTorch 1.13's torch.utils.data.default_collate on Value trees,
// leaf by leaf at the same position of every example:
//   Tensor            -> stack(dim 0): [batch, *shape]; shapes must match
//   int / float / bool -> a 1-D tensor: int64 / float64 / bool (mixed numbers as torch.tensor
//                        infers them: a float after an int gives float32)
//   str               -> the strings: a list, or a tuple at a position of list/tuple examples
//                        (PyTorch transposes those with zip())
//   list or tuple     -> a LIST (tuples too, as PyTorch does) of the collated positions;
//                        every example must have the same length
//   dict              -> a dict with the first example's keys, each collated (keys the other
//                        examples lack throw; extra keys are ignored, as in PyTorch)
//   None              -> fulgur::Error
// Errors name the position in the tree ([1]['image']), the examples involved, their shapes
// or kinds, and a hint.
#pragma once

#include <functional>
#include <vector>

#include "fulgur/tensor/value.h"

namespace fulgur::data {

// A custom collate function (DataLoader's collate_fn): examples in, batch out.
using CollateFn = std::function<Value(std::vector<Value>)>;

Value default_collate(const std::vector<Value>& batch);

}  // namespace fulgur::data
