// base/encoding.h — byte encodings every library shares: standard base64
// (RFC 4648 §4, with padding), base64url without padding (§5) and lower-case
// hex. One implementation each; MIME's line-wrapped, whitespace-tolerant
// body codec (mime/codec.h) is mime/'s. May call: OpenSSL (libcrypto).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

namespace trackrelay {

// Standard base64 with padding, no line breaks.
std::string base64_encode(std::string_view raw);

// Standard base64 with padding (length a multiple of 4, '=' only at the end);
// the error says why not ("bad base64 length" or "bad base64").
Result<std::string> base64_decode(std::string_view text);

// base64url (RFC 4648 §5) without padding.
std::string base64url_encode(std::string_view raw);

// base64url without padding, canonical only (stray low bits in the last
// character are an error, so every byte string has one spelling).
Result<std::string> base64url_decode(std::string_view text);

// Lower-case hex, two digits a byte.
std::string hex_encode(std::string_view raw);
std::string hex_encode(const unsigned char* raw, std::size_t size);

}  // namespace trackrelay
