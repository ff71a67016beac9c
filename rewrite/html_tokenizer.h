// rewrite/html_tokenizer.h — a byte-level HTML tokenizer modelled on the
// WHATWG tokenizer (as gumbo 0.10.1 implements it), for the fast LinkScanner.
//
// Owns: splitting HTML into markup tokens with exact source offsets — start
// and end tags with their attributes (name and value spans, quotes), comments
// (including `<!-->`, `<!--->`, `--!>`), bogus comments (`<?`, `<!x`, `</x`),
// doctypes — and the text states a start tag selects (RCDATA, RAWTEXT, script
// data with its escapes, PLAINTEXT). Text is skipped, not returned. It builds
// no tree: which text state follows a start tag is the caller's decision
// (html_tokenizer never guesses tree-construction rules), and it counts the
// tokenizer's parse errors as an upper bound for the caller's error budget.
//
// Also: decoding attribute values (character references) exactly as gumbo
// does for the references it knows, refusing the rest.
//
// May call: base/ and the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trackrelay::rewrite {

enum class HtmlTokenKind : std::uint8_t { kStartTag, kEndTag, kComment, kBogusComment, kDoctype };

struct HtmlAttribute {
  std::size_t name_offset = 0;
  std::size_t name_length = 0;
  std::size_t value_offset = 0;  // without the quotes
  std::size_t value_length = 0;
  char quote = 0;          // '"', '\'' or 0 (unquoted or no value)
  bool has_value = false;  // an '=' and a value followed the name
};

struct HtmlToken {
  HtmlTokenKind kind = HtmlTokenKind::kStartTag;
  std::size_t begin = 0;  // the '<'
  std::size_t end = 0;    // just after the token (after '>', or the end of the input)
  std::string name;       // tags: the lower-cased (ASCII) tag name
  std::vector<HtmlAttribute> attributes;  // in source order, duplicates included
  bool self_closing = false;
};

// How the text after a start tag is tokenized (the tree builder's choice).
enum class HtmlTextMode : std::uint8_t { kData, kRcdata, kRawtext, kScriptData, kPlaintext };

class HtmlTokenizer {
 public:
  explicit HtmlTokenizer(std::string_view html) : html_(html) {}

  // The next markup token, skipping text. False at the end of the input (a
  // tag cut off by the end of the input is dropped, as the spec says).
  bool next(HtmlToken* token);

  // Called after a start tag: the text that follows, up to `</name`, is
  // RCDATA, RAWTEXT or script data; PLAINTEXT runs to the end.
  void set_text_mode(HtmlTextMode mode, std::string_view name);

  // Upper bound on the tokenizer's parse errors so far (not counting
  // character-level ones: bytes gumbo replaces and character references,
  // which the caller bounds from the bytes).
  std::size_t error_bound() const { return errors_; }
  // Runs of text between tokens (each may cost the tree builder an error).
  std::size_t text_runs() const { return text_runs_; }

 private:
  bool tag(std::size_t lt, bool end_tag, HtmlToken* token);
  bool attributes(std::size_t& i, HtmlToken* token);
  bool comment(std::size_t lt, HtmlToken* token);
  void until_gt(std::size_t lt, std::size_t from, HtmlTokenKind kind, HtmlToken* token);
  // Position of the '<' of an appropriate end tag in RCDATA/RAWTEXT, or npos.
  std::size_t raw_end(std::size_t from) const;
  std::size_t script_end(std::size_t from);
  bool is_end_tag_here(std::size_t lt) const;

  std::string_view html_;
  std::size_t pos_ = 0;
  HtmlTextMode mode_ = HtmlTextMode::kData;
  std::string end_name_;  // the appropriate end tag name in RCDATA/RAWTEXT/script
  std::size_t errors_ = 0;
  std::size_t text_runs_ = 0;
};

// Decodes an attribute value as gumbo does, for the character references
// decoded exactly here: numeric ones (to ordinary code points), and &amp;
// &lt; &gt; &quot; &apos; &nbsp; (and the legacy forms without ';', with the
// spec's attribute rule: not before '=' or an alphanumeric). CR LF and CR
// become LF. Returns false when gumbo might see it differently: another
// named reference, a code point gumbo replaces (controls, noncharacters,
// invalid UTF-8), or a numeric reference to one. `first_ref_end` receives the
// end of a reference decoded at offset 0 (0 when there is none).
bool decode_attribute_value(std::string_view raw, std::string* out,
                            std::size_t* first_ref_end = nullptr);

}  // namespace trackrelay::rewrite
