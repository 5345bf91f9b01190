// Friendly map names, as multipath-tools gives and keeps them.
//
// The bindings file (multipath-tools' /etc/multipath/bindings, pathkeeper's
// naming.bindings_file) binds one alias to one WWID per line: "alias wwid".
// '#' starts a comment; blank lines are nothing. A friendly name is
// <alias_prefix><letters>, the letters counting in bijective base 26:
// mpatha = 1, ..., mpathz = 26, mpathaa = 27, ...
//
// The table keeps bindings in multipath-tools' alias order (shorter first,
// then byte by byte: for one prefix, the order of the ids) and the new name
// is the lowest id that no binding has and that is not taken otherwise, as
// multipath-tools' get_free_id (libmultipath/alias.c) chooses it: gaps are
// filled.
//
// Threads: the loop thread (control plane: a map named), start-up (reading
// the file). Blocking: never. Allocation: init() only; everything else works
// in the table's storage or the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/fixed_string.h"
#include "core/function_ref.h"

namespace pk::core {

// What multipath-tools writes at the top of a bindings file; it rewrites a
// file whose header differs, so the same one is written here.
inline constexpr std::string_view kBindingsHeader =
    "# Multipath bindings, Version : 1.0\n"
    "# NOTE: this file is automatically maintained by the multipath program.\n"
    "# You should not need to edit this file in normal circumstances.\n"
    "#\n"
    "# Format:\n"
    "# alias wwid\n"
    "#\n";

inline constexpr size_t kMaxFriendlyLetters = 7;  // as multipath-tools: past 7 letters an id overflows int
inline constexpr size_t kMaxAliasPrefix = 32;     // naming.alias_prefix

// The id of `alias` under `prefix`, 0 when it is not <prefix><a-z letters>.
uint32_t friendly_id(std::string_view alias, std::string_view prefix);
// The friendly name of `id` under `prefix`, written into `out`; "" when it
// does not fit or id is 0.
std::string_view friendly_name(uint32_t id, std::string_view prefix, std::span<char> out);
// multipath-tools' order of aliases: shorter first, then byte by byte.
bool alias_before(std::string_view a, std::string_view b);
// An alias multipath-tools accepts (no '/') that also fits a map name here.
bool valid_alias(std::string_view alias);

struct Binding {
  FixedString<128> alias;
  FixedString<256> wwid;
  uint32_t line = 0;  // where it was read; 0: given by this daemon
};

class BindingTable {
 public:
  enum class Outcome : uint8_t {
    Added,
    Exists,      // the same alias and WWID: nothing to do
    AliasTaken,  // the alias is bound to another WWID (`other`)
    WwidBound,   // the WWID is bound to another alias (`other`)
    Full,        // no room (capacity set at start-up)
    Invalid,     // alias or WWID empty, too long, or the alias has '/' or a blank
  };
  struct AddResult {
    Outcome outcome = Outcome::Invalid;
    const Binding* other = nullptr;  // AliasTaken, WwidBound: the binding in the way
  };

  // Start-up: room for `capacity` bindings. Allocates.
  void init(size_t capacity);

  AddResult add(std::string_view alias, std::string_view wwid, uint32_t line = 0);
  // Unbinds `wwid` (its alias gave way to an alias in maps:). False when unbound.
  bool remove_wwid(std::string_view wwid);
  const Binding* find_wwid(std::string_view wwid) const;
  const Binding* find_alias(std::string_view alias) const;

  // The lowest id under `prefix` that no binding has and `taken` does not
  // refuse (a DM device of another WWID carries that name, an alias in
  // maps: names another map): its name, in `out`. "" when none is left.
  std::string_view free_name(std::string_view prefix, FunctionRef<bool(std::string_view)> taken,
                             std::span<char> out) const;

  std::span<const Binding> entries() const { return {entries_.get(), size_}; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

 private:
  size_t lower_bound(std::string_view alias) const;

  std::unique_ptr<Binding[]> entries_;  // sorted by alias_before
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// ---------------------------------------------------------------- the file

struct BindingsProblem {
  enum class Kind : uint8_t {
    NoWwid,      // an alias alone: skipped
    Invalid,     // alias or WWID too long, or an alias with '/': skipped
    ExtraWords,  // words after the WWID: ignored, the binding is kept
    Duplicate,   // the same binding again: nothing lost
    AliasTaken,  // the alias is bound to another WWID already: this line refused
    WwidBound,   // the WWID is bound to another alias already: this line refused
    Full,        // no room left: skipped
  };
  Kind kind = Kind::NoWwid;
  uint32_t line = 0;
  std::string_view alias, wwid;    // as the line has them
  const Binding* other = nullptr;  // Duplicate, AliasTaken, WwidBound: the binding kept
};

// One line of a problem, for the log: names the line, the alias and both
// WWIDs (or both aliases) of a conflict, and what was done.
std::string_view describe(const BindingsProblem& p, std::span<char> out);
// Whether the line was left out of the table (as opposed to a note).
bool refused(const BindingsProblem& p);

struct BindingsRead {
  uint32_t lines = 0;
  uint32_t bindings = 0;  // added to the table
  uint32_t refused = 0;   // lines left out (each one reported)
  bool header = false;    // it begins with multipath-tools' header
};

// Reads a bindings file line by line into `into`: every bad line is reported
// to `problem` with its number and skipped; the rest is kept. The first
// binding of an alias or a WWID wins; a later one that conflicts is refused.
BindingsRead parse_bindings(std::string_view text, BindingTable& into,
                            FunctionRef<void(const BindingsProblem&)> problem);
// How many lines `text` has (a table for it needs at most that many).
size_t count_lines(std::string_view text);

// The file for `table`: the header, then "alias wwid" per line in alias order.
// 0 when it does not fit in `out`.
size_t format_bindings(const BindingTable& table, std::span<char> out);
// The largest file a table of `capacity` could need when its current entries
// are `table`'s and the rest are names under a prefix of at most
// kMaxAliasPrefix characters.
size_t bindings_text_bound(const BindingTable& table, size_t capacity);

}  // namespace pk::core
