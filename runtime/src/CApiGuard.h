// Shared by the C API files: every entry point runs its body through
// guarded(), which turns exceptions into a status plus a per-thread message,
// so no exception crosses the C boundary.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "Error.h"
#include "lathe/lathe.h"

namespace lathe::runtime::capi {

inline thread_local std::string last_error;

inline lathe_status fail(lathe_status status, const std::string& message) {
  last_error = message;
  return status;
}

template <typename Body>
lathe_status guarded(Body&& body) {
  try {
    body();
    return LATHE_OK;
  } catch (const Error& error) {
    return fail(error.status(), error.what());
  } catch (const std::bad_alloc&) {
    return fail(LATHE_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& error) {
    return fail(LATHE_ERROR_INTERNAL, std::string("internal error: ") + error.what());
  } catch (...) {
    return fail(LATHE_ERROR_INTERNAL, "internal error: unknown exception");
  }
}

inline void require(const void* pointer, const char* name) {
  if (pointer == nullptr) throw Error(LATHE_ERROR_INVALID_ARGUMENT, std::string(name) + " is null");
}

}  // namespace lathe::runtime::capi
