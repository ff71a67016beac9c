// relay/auth.h — SMTP AUTH credentials for applications (relay.auth in the
// configuration), stored as salted PBKDF2-HMAC-SHA256 hashes (hashing and
// verification: base/crypto.h), and the decoding of AUTH PLAIN responses.
//
// A hash is written "pbkdf2-sha256$ITERATIONS$SALT$HASH" with SALT and HASH
// in standard base64 (the format of Django and passlib). Generate one with
//   python3 -c 'import hashlib,os,base64,sys;s=os.urandom(16);i=600000;
//     print("pbkdf2-sha256$%d$%s$%s"%(i,base64.b64encode(s).decode(),
//     base64.b64encode(hashlib.pbkdf2_hmac("sha256",sys.argv[1].encode(),s,i)).decode()))' PASSWORD
//
// May call: base/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/password_hash.h"
#include "base/result.h"

namespace trackrelay::relay {

// The format itself is base/password_hash.h (conf/ validates with it too).
using trackrelay::PasswordHash;

class Credentials {
 public:
  // `entries`: "user:hash" strings (relay.auth). The error names the entry.
  static Result<Credentials> parse(const std::vector<std::string>& entries);
  bool empty() const { return users_.empty(); }
  // Constant work whether or not the user exists.
  bool check(std::string_view user, std::string_view password) const;

 private:
  struct User {
    std::string name;
    PasswordHash hash;
  };
  std::vector<User> users_;
};

// AUTH PLAIN response (RFC 4616): "authzid NUL authcid NUL passwd", base64.
struct PlainCredentials {
  std::string user;
  std::string password;
};
Result<PlainCredentials> decode_plain(std::string_view base64_response);

}  // namespace trackrelay::relay
