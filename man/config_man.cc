// man/config_man.cc — prints trackrelay.yaml(5) as roff on stdout, generated
// from the configuration key table (conf::config_keys()), so the manual
// lists exactly the keys the loader accepts, with their types, defaults and
// bounds. Run by the build (man/CMakeLists.txt); not installed.
//
// May call: conf/.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace {

// Roff-escapes one line of text: backslashes, and a leading '.' or '\''
// that would start a request.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// "(int, 1..65535, default 25)" for one key.
std::string summary(const trackrelay::conf::ConfigKey& k) {
  std::string s = std::string(k.type);
  if (k.required) s += ", required";
  if (k.type == "list" && k.min > 0) {
    s += ", at least " + std::to_string(k.min) + " item" + (k.min == 1 ? "" : "s");
  } else if (k.max != 0) {
    s += ", " + std::to_string(k.min) + ".." + std::to_string(k.max);
  }
  if (!k.default_value.empty()) s += ", default " + std::string(k.default_value);
  return s;
}

constexpr std::string_view kHead = R"(.TH TRACKRELAY.YAML 5 "" "trackrelay @VERSION@" "File Formats"
.SH NAME
trackrelay.yaml \- configuration file of trackrelay
.SH SYNOPSIS
.I /etc/trackrelay/trackrelay.yaml
.SH DESCRIPTION
.BR trackrelay (8)
reads one YAML file, given with
.BR \-\-config .
Without it, the built\-in example configuration is used
(installed as /usr/share/doc/trackrelay/trackrelay.example.yaml, annotated).
.PP
.B trackrelay check
loads the file and prints every problem found as
.IR file : line : col ": error: " ...
lines, exiting 78 on any error.
.BR check ,
.B serve
and a reload (SIGHUP) use the same validation: whatever
.B serve
would refuse,
.B check
refuses first. A reload that fails keeps the running configuration.
Unknown keys are warnings; so is the public example secret while every
listener is on loopback (off loopback it is an error).
.PP
Relative paths
.RB ( store ,
.BR "relay.upstream: maildir:" PATH,
certificate and key files,
.BR tracking.keys[].secret_file )
are relative to the directory of the configuration file.
The systemd unit lets the service write only under
.IR /var/lib/trackrelay :
give
.B store
an absolute path there.
.SH KEYS
Every key the loader accepts, in file order; a dotted name is a key inside
a map,
.B []
marks the items of a list. Each entry gives the type, whether the key is
required within its parent, the bounds and the default.
)";

constexpr std::string_view kTail = R"(.SH FILES
.TP
.I /etc/trackrelay/trackrelay.yaml
the configuration read by the systemd unit
.TP
.I /etc/trackrelay/secret
the signing secret of the Debian package's configuration
.RB ( tracking.keys[].secret_file ),
mode 0640 root:trackrelay
.TP
.I /usr/share/doc/trackrelay/trackrelay.example.yaml
the annotated example: every key with its default
.SH SEE ALSO
.BR trackrelay (8),
.BR postconf (5)
.PP
docs/config.md in the source tree: the reference with examples.
)";

}  // namespace

int main() {
  std::string head(kHead);
  head.replace(head.find("@VERSION@"), 9, TRACKRELAY_VERSION);
  std::cout << head;
  for (const trackrelay::conf::ConfigKey& k : trackrelay::conf::config_keys()) {
    std::cout << ".TP\n.B " << roff(k.path) << "\n"
              << roff("(" + summary(k) + ") " + std::string(k.doc)) << "\n";
  }
  std::cout << kTail;
  std::cout.flush();
  return std::cout.good() ? 0 : 1;
}
