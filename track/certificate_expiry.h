// track/certificate_expiry.h — the notAfter of the configured tracking
// certificates, for the certificate-expiry gauge (metrics/instruments.h).
//
// Owns: reading the leaf certificate of each track.certificates entry and
// reporting its expiry, labelled with the entry's first domain. Read at start
// and on reload (the files the listener serves). May call: conf/, metrics/
// (Instruments), base/, OpenSSL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.h"
#include "metrics/instruments.h"

namespace trackrelay::track {

// The leaf certificate's notAfter in unix seconds; nullopt when the file
// cannot be read as PEM.
std::optional<std::int64_t> certificate_not_after(const std::string& pem_path);

// Sets the expiry gauge of every certificate in `certs` (null `metrics`: nothing).
void report_certificate_expiry(const std::vector<conf::TrackCertificate>& certs,
                               metrics::Instruments* metrics);

}  // namespace trackrelay::track
