// mime/entity_type.cc — see entity_type.h. Also defines
// ascii_compatible_charset() (structure.h), the charset half of the decision.
#include "mime/entity_type.h"

#include <mimetic/contentdisposition.h>
#include <mimetic/contenttype.h>

#include <algorithm>
#include <array>
#include <exception>

#include "base/strings.h"
#include "mime/transfer_encoding.h"

namespace trackrelay::mime {
namespace internal {
namespace {

constexpr std::size_t kMaxBoundaryLength = 200;  // RFC 2046 says 70; be lenient

template <class IString>
std::string plain(const IString& s) {
  return std::string(s.begin(), s.end());
}

// RFC 2045 token: printable ASCII except SPACE and tspecials.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f &&
           std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
  });
}

// mimetic leaves comments and quotes in parameter values.
std::string clean_charset(std::string_view raw) {
  std::string out;
  int depth = 0;
  for (char c : raw) {
    if (c == '(') {
      ++depth;
    } else if (c == ')' && depth > 0) {
      --depth;
    } else if (depth == 0 && c != '"') {
      out.push_back(c);
    }
  }
  return to_lower(trim(out));
}

// Does a parameter named `base` (or its RFC 2231 forms base*, base*0, base*0*)
// appear? mimetic does not decode RFC 2231, so look at the raw names.
bool has_param(const mimetic::FieldParamList& params, std::string_view base) {
  return std::any_of(params.begin(), params.end(), [&](const mimetic::FieldParam& p) {
    const std::string name = to_lower(trim(plain(p.name())));
    return name == base ||
           (name.size() > base.size() && name.starts_with(base) && name[base.size()] == '*');
  });
}

// A boundary we can trust mimetic to have extracted correctly: it cuts quoted
// values at ';' and keeps backslashes, so anything with '"' or '\' in it, or
// that does not appear verbatim in the raw field, is refused.
bool valid_boundary(std::string_view b, std::string_view raw_field) {
  if (b.empty() || b.size() > kMaxBoundaryLength || b.back() == ' ') return false;
  for (char c : b) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') return false;
  }
  return raw_field.find(b) != std::string_view::npos;
}

struct Encoding {
  bool known = true;
  TransferEncoding value = TransferEncoding::kSevenBit;
  std::string name;  // as normalised, for messages
};

// The alias table (transfer_encoding.h) decides; `name` is for messages.
Encoding parse_encoding(const std::optional<std::string>& field) {
  Encoding e;
  if (!field) return e;  // absent = 7bit (RFC 2045 §6.1)
  e.name = to_lower(trim(*field));
  if (auto known = transfer_encoding_of(*field)) {
    e.value = *known;
  } else {
    // "x-uue", "qp", "8bit quoted-printable": not in the table, readers
    // disagree on what these mean, so the part is not touched.
    e.known = false;
  }
  return e;
}

bool is_attachment(const EntityFields& f, const mimetic::FieldParamList* ct_params) {
  if (ct_params && has_param(*ct_params, "name")) return true;
  if (!f.disposition) return false;
  const mimetic::ContentDisposition cd(std::string(trim(*f.disposition)));
  return to_lower(trim(plain(cd.type()))) == "attachment" || has_param(cd.paramList(), "filename");
}

EntityType skipped(EntityType t, std::string reason) {
  t.kind = EntityKind::kSkipped;
  t.skip_reason = std::move(reason);
  return t;
}

EntityType skipped_attachment(EntityType t) {
  t.attachment = true;
  return skipped(std::move(t), "attachment");
}

EntityType failed(EntityType t, std::string error) {
  t.kind = EntityKind::kError;
  t.error = std::move(error);
  return t;
}

EntityType classify_unsafe(const EntityFields& f, bool in_digest) {
  EntityType t;
  std::string type = "text";
  std::string subtype = "plain";
  mimetic::ContentType ct;
  const bool has_ct = f.content_type.has_value();
  if (!has_ct) {
    // RFC 2045 §5.2 / RFC 2046 §5.1.5 defaults.
    if (in_digest) {
      type = "message";
      subtype = "rfc822";
    }
  } else {
    ct.set(std::string(trim(*f.content_type)));
    type = to_lower(trim(plain(ct.type())));
    subtype = to_lower(trim(plain(ct.subtype())));
  }
  const bool valid = is_token(type) && is_token(subtype);
  t.media_type = valid ? type + "/" + subtype : "invalid";
  if (has_ct) t.charset = clean_charset(ct.param("charset"));
  const Encoding enc = parse_encoding(f.transfer_encoding);
  t.encoding = enc.value;
  const bool attachment = is_attachment(f, has_ct ? &ct.paramList() : nullptr);

  if (type == "multipart") {
    if (!valid) return failed(t, "invalid multipart Content-Type \"" + *f.content_type + "\"");
    t.boundary = ct.param("boundary");  // also for the skipped ones (mimetic_check)
    if (subtype == "signed" || subtype == "encrypted") {
      return skipped(t, t.media_type + " (rewriting would break it)");
    }
    if (enc.value != TransferEncoding::kSevenBit && enc.value != TransferEncoding::kEightBit &&
        enc.value != TransferEncoding::kBinary) {
      return skipped(t, "multipart with transfer encoding " + enc.name);
    }
    if (!enc.known) return skipped(t, "unknown transfer encoding " + enc.name);
    if (attachment) return skipped_attachment(t);
    if (t.boundary.empty()) return failed(t, t.media_type + " without boundary");
    if (!valid_boundary(t.boundary, *f.content_type)) {
      return failed(t, t.media_type + " with unusable boundary \"" + t.boundary + "\"");
    }
    t.kind = EntityKind::kMultipart;
    return t;
  }
  if (!valid) return skipped(t, "invalid Content-Type");
  if (t.media_type == "message/rfc822" || t.media_type == "message/global") {
    return skipped(t, t.media_type + " (not entered)");
  }
  if (t.media_type == "application/pkcs7-mime" || t.media_type == "application/x-pkcs7-mime") {
    return skipped(t, t.media_type + " (S/MIME, rewriting would break it)");
  }
  if (t.media_type != "text/plain" && t.media_type != "text/html") return t;  // kOther
  if (attachment) return skipped_attachment(t);
  if (!enc.known) return skipped(t, "unknown transfer encoding " + enc.name);
  if (!ascii_compatible_charset(t.charset)) {
    return skipped(t, "charset " + t.charset + " is not ASCII-compatible");
  }
  // An RFC 2231 charset (charset*=utf-16''...) that mimetic cannot decode:
  // we cannot tell whether the part is ASCII-compatible, so leave it alone.
  if (t.charset.empty() && has_ct && has_param(ct.paramList(), "charset")) {
    return skipped(t, "RFC 2231 charset parameter");
  }
  t.kind = EntityKind::kText;
  return t;
}

}  // namespace

std::string child_path(const std::string& parent, std::size_t index_from_1) {
  return parent.empty() ? std::to_string(index_from_1)
                        : parent + "." + std::to_string(index_from_1);
}

EntityType classify(const EntityFields& fields, bool in_digest) {
  try {
    return classify_unsafe(fields, in_digest);
  } catch (const std::exception& e) {
    return failed(EntityType{}, std::string("header parse failed: ") + e.what());
  } catch (...) {
    return failed(EntityType{}, "header parse failed");
  }
}

}  // namespace internal

bool ascii_compatible_charset(std::string_view charset_lower) {
  const std::string cs = trackrelay::to_lower(charset_lower);
  // Encodings in which ASCII text is not stored as ASCII bytes (or where an
  // ASCII byte can be part of an escape sequence): splicing bytes into them
  // would corrupt the text. EBCDIC code pages are included for completeness.
  static constexpr std::array<std::string_view, 17> kPrefixes = {
      "utf-16",    "utf16",   "utf-32", "utf32",  "ucs-2",     "ucs2",
      "ucs-4",     "ucs4",    "utf-7",  "utf7",   "iso-2022-", "csiso2022",
      "iso-10646", "unicode", "hz-gb",  "ebcdic", "x-ebcdic",
  };
  static constexpr std::array<std::string_view, 9> kExact = {
      "hz", "csunicode", "ibm037", "cp037", "ibm500", "cp500", "ibm1047", "cp1047", "utf-ebcdic",
  };
  for (std::string_view p : kPrefixes) {
    if (cs.starts_with(p)) return false;
  }
  return std::find(kExact.begin(), kExact.end(), cs) == kExact.end();
}

}  // namespace trackrelay::mime
