// conf/loader.cc — load_file()/load_string(): parses YAML (yaml-cpp), walks it
// against the key table (types, bounds, required and unknown keys), then
// applies the cross-key rules (domains, signing keys). Every problem becomes a
// Diagnostic with file:line:col; nothing throws out of here.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <system_error>
#include <utility>

#include "conf/config.h"
#include "conf/internal.h"

namespace trackrelay::conf {
namespace {

using internal::KeySpec;
using internal::Kind;
using Severity = Diagnostic::Severity;

constexpr std::size_t kMinSecretBytes = 32;
constexpr std::size_t kMaxKeyIdBytes = 16;
constexpr std::size_t kMaxSecretFileBytes = 64 * 1024;
constexpr std::size_t kMaxConfigBytes = 16 * 1024 * 1024;

struct Where {
  int line = 0;  // 1-based; 0 = unknown
  int column = 0;
};

Where where(const YAML::Mark& m) {
  if (m.line < 0) return {};
  return {m.line + 1, m.column + 1};
}

std::string at(Where w) {
  return std::to_string(w.line) + ":" + std::to_string(w.column);
}

std::string join(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return std::string(name);
  return std::string(prefix) + "." + std::string(name);
}

std::string_view parent_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view leaf_of(std::string_view path) {
  const std::size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string describe_node(const YAML::Node& n) {
  if (n.IsNull()) return "an empty value";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return internal::in_quotes(n.Scalar());
}

std::string_view expected(Kind kind) {
  switch (kind) {
    case Kind::kMap:
      return "a map";
    case Kind::kList:
      return "a list";
    case Kind::kString:
      return "a string";
    case Kind::kBool:
      return "a boolean";
    case Kind::kPort:
      return "a port number";
    case Kind::kInt:
    case Kind::kSize:
      return "an integer";
    case Kind::kStrings:
      return "a string or a list of strings";
  }
  return "?";
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

// Decimal integer with an optional sign; nullopt when not an integer.
// Overflow saturates (it is then reported as out of range).
std::optional<int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  const bool negative = s.front() == '-';
  const std::string_view digits = negative ? s.substr(1) : s;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return negative ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

// Reads a whole (regular) file of at most `limit` bytes; the error says why not.
Result<std::string> read_file(const std::string& path, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{errno_text(errno)};
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{errno_text(errno)};
  if (S_ISDIR(st.st_mode)) return Error{errno_text(EISDIR)};
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error{errno_text(errno)};
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > limit) return Error{"larger than " + std::to_string(limit) + " bytes"};
  }
  return out;
}

bool valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A scalar's value, checked against its key's kind and bounds, and stored
// into whichever field the key binds to.
struct Parsed {
  const std::string& text;
  bool boolean = false;
  int64_t integer = 0;

  void operator()(std::monostate) const {}
  void operator()(std::string* p) const { *p = text; }
  void operator()(bool* p) const { *p = boolean; }
  void operator()(int* p) const { *p = static_cast<int>(integer); }
  void operator()(std::size_t* p) const { *p = static_cast<std::size_t>(integer); }
  void operator()(std::optional<uint16_t>* p) const { *p = static_cast<uint16_t>(integer); }
  void operator()(std::vector<std::string>* p) const { *p = {text}; }
};

// One list element that became a Config item (parallel to the Config vector).
struct Item {
  std::string shown;  // "tracking.keys[1]"
  Where where;
};

class Loader {
 public:
  Loader(std::string name, std::string base_dir)
      : name_(std::move(name)), base_dir_(std::move(base_dir)) {}

  LoadResult run(std::string_view yaml);

 private:
  void walk_map(const YAML::Node& node, std::string_view table_prefix,
                const std::string& shown_prefix, Where map_where);
  void load_value(const KeySpec& spec, const YAML::Node& v, const std::string& shown, Where kw,
                  Where vw);
  void load_scalar(const KeySpec& spec, const YAML::Node& v, const std::string& shown, Where vw);

  void validate_system_domain();
  void validate_keys();
  void validate_tracking_domains();
  void validate_sending_domains();

  void add(Severity s, Where w, std::string message) {
    diags_.push_back(Diagnostic{s, name_, w.line, w.column, std::move(message)});
  }
  void error(Where w, std::string message) { add(Severity::kError, w, std::move(message)); }
  void bad(const std::string& shown, Where w, std::string message) {
    bad_.insert(shown);
    error(w, shown + ": " + message);
  }
  // A scalar key that was given and loaded without error.
  bool usable(const std::string& shown) const {
    return values_.contains(shown) && !bad_.contains(shown);
  }
  Where where_of(const std::string& shown, Where fallback) const {
    const auto it = values_.find(shown);
    return it == values_.end() ? fallback : it->second.where;
  }
  const std::vector<Item>& items(std::string_view list) { return items_[std::string(list)]; }

  struct Value {
    Where where;
    std::string text;  // scalars only
  };

  std::string name_;
  std::string base_dir_;
  Config cfg_;
  std::vector<Diagnostic> diags_;
  std::map<std::string, Value> values_;             // every known key given, by shown path
  std::set<std::string> bad_;                       // shown paths whose value was rejected
  std::map<std::string, std::vector<Item>> items_;  // by the list's table path
};

void Loader::walk_map(const YAML::Node& node, std::string_view table_prefix,
                      const std::string& shown_prefix, Where map_where) {
  std::map<std::string, Where> seen;
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const YAML::Node& k = kv.first;
      const YAML::Node& v = kv.second;
      const Where kw = where(k.Mark());
      if (!k.IsScalar()) {
        error(kw, (shown_prefix.empty() ? "top level" : shown_prefix) +
                      ": keys must be plain names, got " + describe_node(k));
        continue;
      }
      const std::string shown = join(shown_prefix, k.Scalar());
      if (const auto it = seen.find(k.Scalar()); it != seen.end()) {
        error(kw,
              "duplicate key " + internal::in_quotes(shown) + " (first at " + at(it->second) + ")");
        continue;
      }
      seen.emplace(k.Scalar(), kw);
      // A name holding the table's path syntax ("keys[].secret") is no key of
      // this map: looked up, it would bind a list item that was never created.
      const bool plain = k.Scalar().find_first_of(".[]") == std::string::npos;
      const KeySpec* spec = plain ? internal::find_key(join(table_prefix, k.Scalar())) : nullptr;
      if (spec == nullptr) {
        add(Severity::kWarning, kw, "unknown key " + internal::in_quotes(shown));
        continue;
      }
      // A null value's mark points past it; its key's mark is where it is.
      const Where vw = v.IsNull() ? kw : where(v.Mark());
      values_[shown] = Value{vw, v.IsScalar() ? v.Scalar() : std::string()};
      load_value(*spec, v, shown, kw, vw);
    }
  }
  for (const KeySpec& spec : internal::key_table()) {
    if (!spec.required || parent_of(spec.path) != table_prefix) continue;
    if (!seen.contains(std::string(leaf_of(spec.path)))) {
      error(map_where,
            "missing required key " + internal::in_quotes(join(shown_prefix, leaf_of(spec.path))));
    }
  }
}

void Loader::load_value(const KeySpec& spec, const YAML::Node& v, const std::string& shown,
                        Where kw, Where vw) {
  switch (spec.kind) {
    case Kind::kMap:
      if (!v.IsNull() && !v.IsMap()) {
        return bad(shown, vw, "expected a map, got " + describe_node(v));
      }
      return walk_map(v, spec.path, shown, kw);
    case Kind::kList: {
      if (!v.IsNull() && !v.IsSequence()) {
        return bad(shown, vw, "expected a list, got " + describe_node(v));
      }
      const std::string item_table = std::string(spec.path) + "[]";
      std::size_t i = 0;
      for (const YAML::Node& elem : v) {
        const std::string item_shown = shown + "[" + std::to_string(i++) + "]";
        const Where iw = where(elem.Mark());
        if (!elem.IsMap()) {
          bad(item_shown, iw, "expected a map, got " + describe_node(elem));
          continue;
        }
        spec.bind(cfg_);  // appends the item the [] keys bind to
        items_[std::string(spec.path)].push_back(Item{item_shown, iw});
        walk_map(elem, item_table, item_shown, iw);
      }
      if (static_cast<int64_t>(v.size()) < spec.min) {
        bad(shown, vw,
            spec.min == 1 ? "at least one item is required"
                          : "at least " + std::to_string(spec.min) + " items are required");
      }
      return;
    }
    case Kind::kStrings: {
      if (!v.IsSequence()) return load_scalar(spec, v, shown, vw);
      std::vector<std::string> list;
      for (const YAML::Node& elem : v) {
        if (!elem.IsScalar()) {
          return bad(shown, where(elem.Mark()), "expected a string, got " + describe_node(elem));
        }
        list.push_back(elem.Scalar());
      }
      if (spec.bind != nullptr) {
        internal::FieldRef ref = spec.bind(cfg_);
        if (auto* p = std::get_if<std::vector<std::string>*>(&ref)) **p = std::move(list);
      }
      return;
    }
    default:
      return load_scalar(spec, v, shown, vw);
  }
}

void Loader::load_scalar(const KeySpec& spec, const YAML::Node& v, const std::string& shown,
                         Where vw) {
  if (v.IsNull() && spec.kind == Kind::kPort) {
    values_.erase(shown);  // "port:" with no value = no explicit port
    return;
  }
  if (!v.IsScalar()) {
    return bad(shown, vw,
               "expected " + std::string(expected(spec.kind)) + ", got " + describe_node(v));
  }
  const std::string& text = v.Scalar();
  Parsed parsed{text};
  if (spec.path == "rewrite.html_scanner" && text != "fast" && text != "gumbo") {
    return bad(shown, vw, "expected fast or gumbo, got " + internal::in_quotes(text));
  }
  if (spec.path == "tracking.senders" && text != "declared" && text != "any") {
    return bad(shown, vw, "expected declared or any, got " + internal::in_quotes(text));
  }
  if (spec.kind == Kind::kBool) {
    const std::optional<bool> b = parse_bool(text);
    if (!b) return bad(shown, vw, "expected a boolean, got " + internal::in_quotes(text));
    parsed.boolean = *b;
  } else if (spec.kind != Kind::kString && spec.kind != Kind::kStrings) {
    const std::optional<int64_t> n = parse_int(text);
    if (!n) {
      return bad(
          shown, vw,
          "expected " + std::string(expected(spec.kind)) + ", got " + internal::in_quotes(text));
    }
    if (*n < spec.min || *n > spec.max) {
      return bad(shown, vw,
                 "must be between " + std::to_string(spec.min) + " and " +
                     std::to_string(spec.max) + ", got " + text);
    }
    parsed.integer = *n;
  }
  if (spec.bind != nullptr) std::visit(parsed, spec.bind(cfg_));
}

void Loader::validate_system_domain() {
  const std::string shown = "tracking.system_domain";
  if (!usable(shown)) return;
  const Where w = where_of(shown, {});
  Result<std::string> a = to_alabel(cfg_.system_domain);
  if (!a.ok()) return bad(shown, w, a.error());
  if (check_tracking_domain(*a) == TrackingDomainCheck::kPublicSuffix) {
    return bad(shown, w,
               internal::in_quotes(*a) +
                   " is a public suffix; the system domain must be a domain you control");
  }
  cfg_.system_domain = std::move(a).value();
}

void Loader::validate_keys() {
  const std::vector<Item>& list = items("tracking.keys");
  std::map<std::string, Where> ids;
  for (std::size_t i = 0; i < list.size(); ++i) {
    SigningKey& key = cfg_.keys[i];
    const std::string& item = list[i].shown;
    const std::string id_path = item + ".id";
    if (usable(id_path)) {
      const Where w = where_of(id_path, list[i].where);
      if (!valid_key_id(key.id)) {
        bad(id_path, w,
            internal::in_quotes(key.id) +
                " is not a valid key id (1-16 characters of A-Z a-z 0-9 _ -)");
      } else if (const auto it = ids.find(key.id); it != ids.end()) {
        bad(id_path, w,
            "duplicate key id " + internal::in_quotes(key.id) + " (first at " + at(it->second) +
                ")");
      } else {
        ids.emplace(key.id, w);
      }
    }
    const std::string secret_path = item + ".secret";
    const std::string file_path = item + ".secret_file";
    const bool has_secret = values_.contains(secret_path);
    const bool has_file = values_.contains(file_path);
    if (has_secret && has_file) {
      bad(item, where_of(file_path, list[i].where),
          "set exactly one of secret and secret_file, not both");
      continue;
    }
    if (!has_secret && !has_file) {
      bad(item, list[i].where, "missing secret or secret_file (exactly one is required)");
      continue;
    }
    if (bad_.contains(secret_path) || bad_.contains(file_path)) continue;
    const std::string& used = has_secret ? secret_path : file_path;
    const Where w = where_of(used, list[i].where);
    std::string source = "secret";
    if (has_file) {
      const std::string& given = values_[file_path].text;
      if (given.empty()) {
        bad(file_path, w, "empty file name");
        continue;
      }
      std::filesystem::path p(given);
      if (p.is_relative()) p = std::filesystem::path(base_dir_) / p;
      Result<std::string> contents = read_file(p.string(), kMaxSecretFileBytes);
      if (!contents.ok()) {
        bad(file_path, w,
            "cannot read " + internal::in_quotes(p.string()) + ": " + contents.error());
        continue;
      }
      std::string s = std::move(contents).value();
      while (!s.empty() &&
             (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
        s.pop_back();
      }
      key.secret = std::move(s);
      source = "the secret in " + internal::in_quotes(p.string());
    }
    if (key.secret.size() < kMinSecretBytes) {
      bad(used, w,
          source + " is " + std::to_string(key.secret.size()) + " bytes; at least " +
              std::to_string(kMinSecretBytes) + " are required");
    } else if (key.secret == internal::kExampleSecret) {
      add(Severity::kWarning, w,
          used + ": key " + internal::in_quotes(key.id) +
              " uses the public example secret; replace it (openssl rand -base64 48)");
    }
  }
}

void Loader::validate_tracking_domains() {
  const std::vector<Item>& list = items("tracking.tracking_domains");
  std::map<std::string, Where> names;
  const TrackingDomain* first_default = nullptr;
  Where first_default_where;
  for (std::size_t i = 0; i < list.size(); ++i) {
    TrackingDomain& d = cfg_.tracking_domains[i];
    const std::string path = list[i].shown + ".domain";
    const std::string default_path = list[i].shown + ".default";
    if (d.is_default && usable(default_path)) {
      const Where w = where_of(default_path, list[i].where);
      if (first_default == nullptr) {
        first_default = &d;
        first_default_where = w;
      } else {
        bad(default_path, w,
            "more than one default tracking domain (the first is at " + at(first_default_where) +
                ")");
      }
    }
    if (!usable(path)) continue;
    const Where w = where_of(path, list[i].where);
    Result<std::string> a = to_alabel(d.domain);
    if (!a.ok()) {
      bad(path, w, a.error());
      continue;
    }
    d.domain = std::move(a).value();
    switch (check_tracking_domain(d.domain)) {
      case TrackingDomainCheck::kOk:
        break;
      case TrackingDomainCheck::kPublicSuffix:
        bad(path, w,
            internal::in_quotes(d.domain) +
                " is a public suffix; a tracking domain must be a subdomain of a registrable "
                "domain, such as click.example.com");
        break;
      case TrackingDomainCheck::kRegistrableRoot:
        bad(path, w,
            internal::in_quotes(d.domain) + " is a root domain; use a subdomain such as click." +
                d.domain);
        break;
      case TrackingDomainCheck::kInvalid:
        bad(path, w, internal::in_quotes(d.domain) + " is not a valid domain name");
        break;
    }
    if (const auto it = names.find(d.domain); it != names.end()) {
      bad(path, w,
          "duplicate tracking domain " + internal::in_quotes(d.domain) + " (first at " +
              at(it->second) + ")");
    } else {
      names.emplace(d.domain, w);
    }
    if (usable("tracking.system_domain") && d.domain == cfg_.system_domain) {
      add(Severity::kWarning, w,
          path + ": " + internal::in_quotes(d.domain) + " is also tracking.system_domain");
    }
  }
}

void Loader::validate_sending_domains() {
  std::set<std::string> declared;  // tracking domains as declared (even rejected ones)
  for (const TrackingDomain& t : cfg_.tracking_domains) declared.insert(t.domain);
  const std::vector<Item>& list = items("tracking.sending_domains");
  std::map<std::string, Where> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    SendingDomain& s = cfg_.sending_domains[i];
    const std::string path = list[i].shown + ".domain";
    if (usable(path)) {
      const Where w = where_of(path, list[i].where);
      Result<std::string> a = to_alabel(s.domain);
      if (!a.ok()) {
        bad(path, w, a.error());
      } else if (const auto it = names.find(*a); it != names.end()) {
        bad(path, w,
            "duplicate sending domain " + internal::in_quotes(*a) + " (first at " + at(it->second) +
                ")");
      } else {
        names.emplace(*a, w);
        s.domain = std::move(a).value();
      }
    }
    const std::string td_path = list[i].shown + ".tracking_domain";
    if (!usable(td_path)) continue;
    const Where w = where_of(td_path, list[i].where);
    Result<std::string> a = to_alabel(s.tracking_domain);
    if (!a.ok()) {
      bad(td_path, w, a.error());
    } else if (!declared.contains(*a) && !declared.contains(s.tracking_domain)) {
      bad(td_path, w,
          "unknown tracking domain " + internal::in_quotes(*a) +
              "; declare it in tracking.tracking_domains");
    } else {
      s.tracking_domain = std::move(a).value();
    }
  }
}

LoadResult Loader::run(std::string_view yaml) {
  try {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      error(where(e.mark), e.msg);
    }
    if (diags_.empty()) {
      if (!root.IsNull() && !root.IsMap()) {
        error(where(root.Mark()), "expected a map at the top level, got " + describe_node(root));
      } else {
        walk_map(root, "", "", Where{});
        validate_system_domain();
        validate_keys();
        validate_tracking_domains();
        validate_sending_domains();
      }
    }
  } catch (const std::exception& e) {
    error(Where{}, std::string("internal error: ") + e.what());
  }
  std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    const int la = a.line == 0 ? std::numeric_limits<int>::max() : a.line;
    const int lb = b.line == 0 ? std::numeric_limits<int>::max() : b.line;
    return la != lb ? la < lb : a.column < b.column;
  });
  LoadResult result;
  const bool failed = std::any_of(diags_.begin(), diags_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  });
  if (!failed) {
    cfg_.source = name_;
    result.config = std::make_shared<const Config>(std::move(cfg_));
  }
  result.diagnostics = std::move(diags_);
  return result;
}

}  // namespace

LoadResult load_string(std::string_view yaml, const std::string& name,
                       const std::string& base_dir) {
  return Loader(name, base_dir).run(yaml);
}

LoadResult load_file(const std::string& path) {
  Result<std::string> text = read_file(path, kMaxConfigBytes);
  if (!text.ok()) {
    LoadResult r;
    r.diagnostics.push_back(Diagnostic{Severity::kError, path, 0, 0,
                                       "cannot read configuration file: " + text.error()});
    return r;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  return load_string(*text, path, dir);
}

}  // namespace trackrelay::conf
