// The C API's tokenizer handle; shared with CApi.cpp, which hands out the
// tokenizer of an artifact.
#pragma once

#include <memory>

#include "tokenizer/Tokenizer.h"

struct lathe_tokenizer {
  std::shared_ptr<const lathe::tokenizer::Tokenizer> tokenizer;
};
