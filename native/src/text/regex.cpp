// The backtracking engine of regex.hpp: a parser to a small syntax tree, a compiler to a program
// of instructions, and a virtual machine whose backtracking stack lives on the heap (deep inputs
// never deepen the C++ stack; only nested look-arounds recurse, once per nesting level).
#include "regex.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "unicode.hpp"

namespace emomix::text::re {

namespace {

// --------------------------------------------------------------------------------- characters

// What Python's re.IGNORECASE matches a character against: ASCII letters fold to lower case, and
// U+0130 U+0131 fold to i, U+212A (Kelvin) to k, U+017F (long s) to s.
char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  switch (c) {
    case 0x130:
    case 0x131:
      return 'i';
    case 0x212A:
      return 'k';
    case 0x17F:
      return 's';
    default:
      return c;
  }
}

enum Pred : std::uint8_t {
  kWord = 1,
  kNotWord = 2,
  kDigit = 4,
  kNotDigit = 8,
  kSpace = 16,
  kNotSpace = 32,
};

bool test_preds(std::uint8_t preds, char32_t c) {
  if ((preds & kWord) && unicode::is_word(c)) return true;
  if ((preds & kNotWord) && !unicode::is_word(c)) return true;
  if ((preds & kDigit) && unicode::is_decimal(c)) return true;
  if ((preds & kNotDigit) && !unicode::is_decimal(c)) return true;
  if ((preds & kSpace) && unicode::is_space(c)) return true;
  if ((preds & kNotSpace) && !unicode::is_space(c)) return true;
  return false;
}

struct CharClass {
  std::vector<std::pair<char32_t, char32_t>> ranges;
  std::uint8_t preds = 0;
  bool negate = false;
  bool fold = false;

  bool raw(char32_t c) const {
    for (const auto& r : ranges) {
      if (c >= r.first && c <= r.second) return true;
    }
    return test_preds(preds, c);
  }
  bool matches(char32_t c) const {
    bool hit = raw(c);
    if (!hit && fold) {
      const char32_t f = re::fold(c);
      if (f >= 'a' && f <= 'z') hit = raw(f) || raw(f - 32);
    }
    return hit != negate;
  }
};

// --------------------------------------------------------------------------------- syntax tree

struct Node {
  enum Kind {
    kEmpty,
    kChar,
    kAny,
    kClass,
    kConcat,
    kAlt,
    kGroup,
    kLook,
    kRepeat,
    kAssert,
    kBackref
  };
  enum AssertKind { kBol, kEol, kWordBoundary, kNotWordBoundary };
  Kind kind = kEmpty;
  char32_t c = 0;
  int index = -1;  // class index, capture group (-1: none), back-reference, assert kind
  bool behind = false, negate = false;
  int min = 0, max = 0;  // repeat; max < 0: unbounded
  std::vector<Node> children;
};

constexpr int kUnbounded = -1;

class Parser {
 public:
  Parser(std::u32string_view p, int flags, std::vector<CharClass>& classes,
         std::vector<std::pair<std::string, int>>& names)
      : p_(p), fold_((flags & kIgnoreCase) != 0), classes_(classes), names_(names) {}

  Node parse() {
    Node n = alternation();
    if (i_ != p_.size()) fail("unbalanced parenthesis");
    return n;
  }
  int groups() const { return groups_; }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::logic_error("regex: " + what + " at position " + std::to_string(i_) + " of " +
                           unicode::encode_utf8(p_));
  }
  bool more() const { return i_ < p_.size(); }
  char32_t peek() const { return p_[i_]; }
  bool eat(char32_t c) {
    if (more() && p_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  Node alternation() {
    Node first = concatenation();
    if (!more() || peek() != '|') return first;
    Node alt;
    alt.kind = Node::kAlt;
    alt.children.push_back(std::move(first));
    while (eat('|'))
      alt.children.push_back(concatenation());
    return alt;
  }

  Node concatenation() {
    Node seq;
    seq.kind = Node::kConcat;
    while (more() && peek() != '|' && peek() != ')')
      seq.children.push_back(quantified());
    if (seq.children.size() == 1) return std::move(seq.children[0]);
    return seq;
  }

  bool parse_int(int& out) {
    const std::size_t start = i_;
    out = 0;
    while (more() && peek() >= '0' && peek() <= '9')
      out = out * 10 + static_cast<int>(p_[i_++] - '0');
    return i_ > start;
  }

  Node quantified() {
    Node atom_node = atom();
    for (;;) {
      int lo = 0, hi = 0;
      if (eat('*')) {
        lo = 0, hi = kUnbounded;
      } else if (eat('+')) {
        lo = 1, hi = kUnbounded;
      } else if (eat('?')) {
        lo = 0, hi = 1;
      } else if (more() && peek() == '{') {
        const std::size_t save = i_;
        ++i_;
        int a = 0, b = 0;
        bool has_a = parse_int(a);
        if (eat('}')) {
          if (!has_a) {
            i_ = save;
            break;
          }
          lo = hi = a;
        } else if (eat(',')) {
          bool has_b = parse_int(b);
          if (!eat('}')) {
            i_ = save;
            break;
          }
          lo = has_a ? a : 0;
          hi = has_b ? b : kUnbounded;
        } else {
          i_ = save;  // not a quantifier: '{' is a literal (Python does the same)
          break;
        }
      } else {
        break;
      }
      if (more() && (peek() == '?' || peek() == '+'))
        fail("lazy or possessive quantifiers are not supported");
      if (atom_node.kind == Node::kAssert || atom_node.kind == Node::kLook)
        fail("nothing to repeat");
      Node rep;
      rep.kind = Node::kRepeat;
      rep.min = lo;
      rep.max = hi;
      rep.children.push_back(std::move(atom_node));
      atom_node = std::move(rep);
    }
    return atom_node;
  }

  Node make_char(char32_t c) {
    Node n;
    n.kind = Node::kChar;
    n.c = c;
    return n;
  }

  Node make_class(CharClass cls) {
    cls.fold = fold_;
    classes_.push_back(std::move(cls));
    Node n;
    n.kind = Node::kClass;
    n.index = static_cast<int>(classes_.size()) - 1;
    return n;
  }

  char32_t simple_escape(char32_t c) {
    switch (c) {
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
          fail("unsupported escape");
        }
        return c;  // an escaped punctuation character is itself
    }
  }

  static std::uint8_t class_escape(char32_t c) {
    switch (c) {
      case 'w':
        return kWord;
      case 'W':
        return kNotWord;
      case 'd':
        return kDigit;
      case 'D':
        return kNotDigit;
      case 's':
        return kSpace;
      case 'S':
        return kNotSpace;
      default:
        return 0;
    }
  }

  Node atom() {
    if (!more()) fail("unexpected end of pattern");
    const char32_t c = p_[i_++];
    switch (c) {
      case '(':
        return group();
      case '[':
        return char_class();
      case '.': {
        Node n;
        n.kind = Node::kAny;
        return n;
      }
      case '^':
      case '$': {
        Node n;
        n.kind = Node::kAssert;
        n.index = c == '^' ? Node::kBol : Node::kEol;
        return n;
      }
      case '\\': {
        if (!more()) fail("trailing backslash");
        const char32_t e = p_[i_++];
        if (const std::uint8_t preds = class_escape(e)) {
          CharClass cls;
          cls.preds = preds;
          return make_class(std::move(cls));
        }
        if (e == 'b' || e == 'B') {
          Node n;
          n.kind = Node::kAssert;
          n.index = e == 'b' ? Node::kWordBoundary : Node::kNotWordBoundary;
          return n;
        }
        if (e >= '1' && e <= '9') {
          Node n;
          n.kind = Node::kBackref;
          n.index = static_cast<int>(e - '0');
          if (n.index > groups_) fail("back-reference to an unknown group");
          return n;
        }
        return make_char(simple_escape(e));
      }
      case '*':
      case '+':
      case '?':
        fail("nothing to repeat");
      default:
        return make_char(c);
    }
  }

  Node group() {
    Node n;
    if (eat('?')) {
      if (eat(':')) {
        n.kind = Node::kGroup;
      } else if (eat('=') || (more() && peek() == '!')) {
        n.kind = Node::kLook;
        n.negate = eat('!');
      } else if (eat('<')) {
        n.kind = Node::kLook;
        n.behind = true;
        if (eat('!')) {
          n.negate = true;
        } else if (!eat('=')) {
          fail("unsupported group");
        }
      } else if (eat('P')) {
        if (!eat('<')) fail("unsupported group");
        std::string name;
        while (more() && peek() != '>')
          name.push_back(static_cast<char>(p_[i_++]));
        if (!eat('>') || name.empty()) fail("bad group name");
        n.kind = Node::kGroup;
        n.index = ++groups_;
        names_.emplace_back(name, n.index);
      } else {
        fail("unsupported group");
      }
    } else {
      n.kind = Node::kGroup;
      n.index = ++groups_;
    }
    if (n.kind == Node::kLook) ++in_look_;
    if (n.kind == Node::kGroup && n.index >= 0 && in_look_ > 0) {
      fail("capturing groups inside look-arounds are not supported");
    }
    n.children.push_back(alternation());
    if (n.kind == Node::kLook) --in_look_;
    if (!eat(')')) fail("missing )");
    return n;
  }

  Node char_class() {
    CharClass cls;
    cls.negate = eat('^');
    bool first = true;
    for (;;) {
      if (!more()) fail("unterminated character class");
      char32_t c = p_[i_++];
      if (c == ']' && !first) break;
      first = false;
      if (c == '\\') {
        if (!more()) fail("trailing backslash");
        const char32_t e = p_[i_++];
        if (const std::uint8_t preds = class_escape(e)) {
          cls.preds |= preds;
          continue;
        }
        c = simple_escape(e);
      }
      char32_t hi = c;
      if (more() && peek() == '-' && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
        ++i_;
        hi = p_[i_++];
        if (hi == '\\') {
          if (!more()) fail("trailing backslash");
          hi = simple_escape(p_[i_++]);
        }
        if (hi < c) fail("bad character range");
      }
      cls.ranges.emplace_back(c, hi);
    }
    return make_class(std::move(cls));
  }

  std::u32string_view p_;
  std::size_t i_ = 0;
  bool fold_;
  int groups_ = 0;
  int in_look_ = 0;
  std::vector<CharClass>& classes_;
  std::vector<std::pair<std::string, int>>& names_;
};

// Fixed width of a look-behind body, or -1.
int fixed_width(const Node& n) {
  switch (n.kind) {
    case Node::kEmpty:
    case Node::kAssert:
    case Node::kLook:
      return 0;
    case Node::kChar:
    case Node::kAny:
    case Node::kClass:
      return 1;
    case Node::kConcat: {
      int w = 0;
      for (const Node& c : n.children) {
        const int cw = fixed_width(c);
        if (cw < 0) return -1;
        w += cw;
      }
      return w;
    }
    case Node::kAlt: {
      int w = fixed_width(n.children[0]);
      for (const Node& c : n.children) {
        if (fixed_width(c) != w) return -1;
      }
      return w;
    }
    case Node::kGroup:
      return fixed_width(n.children[0]);
    case Node::kRepeat: {
      if (n.min != n.max) return -1;
      const int cw = fixed_width(n.children[0]);
      return cw < 0 ? -1 : cw * n.min;
    }
    case Node::kBackref:
      return -1;
  }
  return -1;
}

// Shortest match length (0 when the node can match the empty string).
int min_width(const Node& n) {
  switch (n.kind) {
    case Node::kChar:
    case Node::kAny:
    case Node::kClass:
      return 1;
    case Node::kConcat: {
      int w = 0;
      for (const Node& c : n.children)
        w += min_width(c);
      return w;
    }
    case Node::kAlt: {
      int w = min_width(n.children[0]);
      for (const Node& c : n.children)
        w = std::min(w, min_width(c));
      return w;
    }
    case Node::kGroup:
      return min_width(n.children[0]);
    case Node::kRepeat:
      return n.min * min_width(n.children[0]);
    default:
      return 0;
  }
}

// --------------------------------------------------------------------------------- program

enum class Op : std::uint8_t {
  kChar,     // c
  kAny,      // any but '\n'
  kClass,    // x = class
  kSplit,    // try x, then y
  kJmp,      // x
  kSave,     // x = slot
  kAssert,   // x = Node::AssertKind
  kLook,     // x = entry, y = width (behind), negate, behind
  kBackref,  // x = group
  kRepeat1,  // atom (op2, c, x) repeated min..max times, greedily
  kMatch,
};

struct Inst {
  Op op = Op::kMatch;
  Op atom = Op::kChar;  // kRepeat1: kChar, kAny or kClass
  bool negate = false, behind = false;
  char32_t c = 0;
  int x = 0, y = 0, min = 0, max = 0;
};

}  // namespace

struct Regex::Program {
  std::vector<Inst> code;
  std::vector<CharClass> classes;
  std::vector<std::pair<std::string, int>> names;
  int groups = 0;
  bool fold = false;

  bool atom_matches(Op atom, char32_t c, int cls, char32_t x) const {
    switch (atom) {
      case Op::kChar:
        return x == c ||
               (fold && re::fold(x) == re::fold(c) && re::fold(c) >= 'a' && re::fold(c) <= 'z');
      case Op::kAny:
        return x != '\n';
      default:
        return classes[static_cast<std::size_t>(cls)].matches(x);
    }
  }

  int emit(Inst inst) {
    code.push_back(inst);
    return static_cast<int>(code.size()) - 1;
  }

  void compile(const Node& n) {
    switch (n.kind) {
      case Node::kEmpty:
        break;
      case Node::kChar: {
        Inst i;
        i.op = Op::kChar;
        i.c = n.c;
        emit(i);
        break;
      }
      case Node::kAny: {
        Inst i;
        i.op = Op::kAny;
        emit(i);
        break;
      }
      case Node::kClass: {
        Inst i;
        i.op = Op::kClass;
        i.x = n.index;
        emit(i);
        break;
      }
      case Node::kConcat:
        for (const Node& c : n.children)
          compile(c);
        break;
      case Node::kAlt: {
        std::vector<int> jumps;
        for (std::size_t k = 0; k < n.children.size(); ++k) {
          if (k + 1 < n.children.size()) {
            Inst split;
            split.op = Op::kSplit;
            const int at = emit(split);
            code[static_cast<std::size_t>(at)].x = at + 1;
            compile(n.children[k]);
            Inst jmp;
            jmp.op = Op::kJmp;
            jumps.push_back(emit(jmp));
            code[static_cast<std::size_t>(at)].y = static_cast<int>(code.size());
          } else {
            compile(n.children[k]);
          }
        }
        for (int j : jumps)
          code[static_cast<std::size_t>(j)].x = static_cast<int>(code.size());
        break;
      }
      case Node::kGroup: {
        if (n.index >= 0) {
          Inst save;
          save.op = Op::kSave;
          save.x = 2 * n.index;
          emit(save);
          compile(n.children[0]);
          save.x = 2 * n.index + 1;
          emit(save);
        } else {
          compile(n.children[0]);
        }
        break;
      }
      case Node::kAssert: {
        Inst i;
        i.op = Op::kAssert;
        i.x = n.index;
        emit(i);
        break;
      }
      case Node::kBackref: {
        Inst i;
        i.op = Op::kBackref;
        i.x = n.index;
        emit(i);
        break;
      }
      case Node::kLook: {
        Inst look;
        look.op = Op::kLook;
        look.negate = n.negate;
        look.behind = n.behind;
        if (n.behind) {
          look.y = fixed_width(n.children[0]);
          if (look.y < 0) throw std::logic_error("regex: look-behind requires a fixed width");
        }
        const int at = emit(look);
        Inst jmp;
        jmp.op = Op::kJmp;
        const int skip = emit(jmp);
        code[static_cast<std::size_t>(at)].x = static_cast<int>(code.size());
        compile(n.children[0]);
        emit(Inst{});  // kMatch ends the sub-program
        code[static_cast<std::size_t>(skip)].x = static_cast<int>(code.size());
        // The look instruction continues after the sub-program: at + 1 is the jump over it.
        break;
      }
      case Node::kRepeat:
        compile_repeat(n);
        break;
    }
  }

  static const Node* single_atom(const Node& n) {
    if (n.kind == Node::kChar || n.kind == Node::kAny || n.kind == Node::kClass) return &n;
    if (n.kind == Node::kGroup && n.index < 0) return single_atom(n.children[0]);
    return nullptr;
  }

  void compile_repeat(const Node& n) {
    const Node& body = n.children[0];
    if (const Node* a = single_atom(body)) {
      Inst i;
      i.op = Op::kRepeat1;
      i.atom = a->kind == Node::kChar ? Op::kChar : a->kind == Node::kAny ? Op::kAny : Op::kClass;
      i.c = a->c;
      i.x = a->index;
      i.min = n.min;
      i.max = n.max;
      emit(i);
      return;
    }
    if (n.max == kUnbounded && min_width(body) == 0) {
      throw std::logic_error("regex: a repeated group must not match the empty string");
    }
    for (int k = 0; k < n.min; ++k)
      compile(body);
    if (n.max == kUnbounded) {
      Inst split;
      split.op = Op::kSplit;
      const int loop = emit(split);
      code[static_cast<std::size_t>(loop)].x = loop + 1;
      compile(body);
      Inst jmp;
      jmp.op = Op::kJmp;
      jmp.x = loop;
      emit(jmp);
      code[static_cast<std::size_t>(loop)].y = static_cast<int>(code.size());
      return;
    }
    std::vector<int> splits;
    for (int k = n.min; k < n.max; ++k) {
      Inst split;
      split.op = Op::kSplit;
      const int at = emit(split);
      code[static_cast<std::size_t>(at)].x = at + 1;
      splits.push_back(at);
      compile(body);
    }
    for (int s : splits)
      code[static_cast<std::size_t>(s)].y = static_cast<int>(code.size());
  }
};

namespace {

struct Frame {
  enum Kind : std::uint8_t { kAlt, kUndo, kRepeat } kind;
  int pc;                // kAlt, kRepeat: where to resume; kUndo: slot
  std::ptrdiff_t pos;    // kAlt: position; kRepeat: current end; kUndo: old value
  std::ptrdiff_t floor;  // kRepeat: the shortest end allowed
};

class Machine {
 public:
  Machine(const Regex::Program& p, std::u32string_view s) : p_(p), s_(s) {}

  // Runs from pc at pos; on success returns true with the end position in `end`.
  bool run(int pc, std::ptrdiff_t pos, std::vector<std::ptrdiff_t>& caps, std::ptrdiff_t& end) {
    const std::size_t base = stack_.size();
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(s_.size());
    for (;;) {
      const Inst& in = p_.code[static_cast<std::size_t>(pc)];
      bool ok = true;
      switch (in.op) {
        case Op::kChar:
        case Op::kAny:
        case Op::kClass:
          if (pos < n && p_.atom_matches(in.op, in.c, in.x, s_[static_cast<std::size_t>(pos)])) {
            ++pos;
            ++pc;
          } else {
            ok = false;
          }
          break;
        case Op::kSplit:
          stack_.push_back({Frame::kAlt, in.y, pos, 0});
          pc = in.x;
          break;
        case Op::kJmp:
          pc = in.x;
          break;
        case Op::kSave:
          stack_.push_back({Frame::kUndo, in.x, caps[static_cast<std::size_t>(in.x)], 0});
          caps[static_cast<std::size_t>(in.x)] = pos;
          ++pc;
          break;
        case Op::kAssert:
          ok = check_assert(in.x, pos);
          ++pc;
          break;
        case Op::kBackref: {
          const std::ptrdiff_t a = caps[static_cast<std::size_t>(2 * in.x)];
          const std::ptrdiff_t b = caps[static_cast<std::size_t>(2 * in.x + 1)];
          if (a < 0 || b < 0 || pos + (b - a) > n) {
            ok = false;
            break;
          }
          for (std::ptrdiff_t k = 0; k < b - a && ok; ++k) {
            const char32_t x = s_[static_cast<std::size_t>(pos + k)];
            const char32_t y = s_[static_cast<std::size_t>(a + k)];
            ok = x == y || (p_.fold && fold(x) == fold(y));
          }
          if (ok) {
            pos += b - a;
            ++pc;
          }
          break;
        }
        case Op::kLook: {
          bool hit = false;
          std::ptrdiff_t sub_end = 0;
          if (in.behind) {
            if (pos >= in.y) {
              hit = run(in.x, pos - in.y, caps, sub_end) && sub_end == pos;
            }
          } else {
            hit = run(in.x, pos, caps, sub_end);
          }
          ok = hit != in.negate;
          ++pc;  // to the jump over the sub-program
          break;
        }
        case Op::kRepeat1: {
          std::ptrdiff_t k = 0;
          const std::ptrdiff_t limit =
              in.max < 0 ? n - pos : std::min<std::ptrdiff_t>(in.max, n - pos);
          while (k < limit &&
                 p_.atom_matches(in.atom, in.c, in.x, s_[static_cast<std::size_t>(pos + k)])) {
            ++k;
          }
          if (k < in.min) {
            ok = false;
            break;
          }
          if (k > in.min) stack_.push_back({Frame::kRepeat, pc + 1, pos + k, pos + in.min});
          pos += k;
          ++pc;
          break;
        }
        case Op::kMatch:
          end = pos;
          stack_.resize(base);
          return true;
      }
      if (ok) continue;
      // Backtrack.
      bool resumed = false;
      while (stack_.size() > base && !resumed) {
        Frame f = stack_.back();
        stack_.pop_back();
        switch (f.kind) {
          case Frame::kUndo:
            caps[static_cast<std::size_t>(f.pc)] = f.pos;
            break;
          case Frame::kAlt:
            pc = f.pc;
            pos = f.pos;
            resumed = true;
            break;
          case Frame::kRepeat:
            pos = f.pos - 1;
            if (pos > f.floor) stack_.push_back({Frame::kRepeat, f.pc, pos, f.floor});
            pc = f.pc;
            resumed = true;
            break;
        }
      }
      if (!resumed) return false;
    }
  }

 private:
  bool word_at(std::ptrdiff_t i) const {
    return i >= 0 && i < static_cast<std::ptrdiff_t>(s_.size()) &&
           unicode::is_word(s_[static_cast<std::size_t>(i)]);
  }

  bool check_assert(int kind, std::ptrdiff_t pos) const {
    const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(s_.size());
    switch (kind) {
      case Node::kBol:
        return pos == 0;
      case Node::kEol:  // Python's $: the end, or just before a final newline
        return pos == n || (pos == n - 1 && s_[static_cast<std::size_t>(pos)] == '\n');
      case Node::kWordBoundary:
      case Node::kNotWordBoundary: {
        const bool boundary = n != 0 && word_at(pos - 1) != word_at(pos);
        return (kind == Node::kWordBoundary) == boundary;
      }
      default:
        return false;
    }
  }

  const Regex::Program& p_;
  std::u32string_view s_;
  std::vector<Frame> stack_;
};

}  // namespace

Regex::Regex(std::u32string_view pattern, int flags) : program_(std::make_unique<Program>()) {
  Parser parser(pattern, flags, program_->classes, program_->names);
  const Node root = parser.parse();
  program_->groups = parser.groups();
  program_->fold = (flags & kIgnoreCase) != 0;
  program_->compile(root);
  program_->emit(Inst{});  // kMatch
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

int Regex::groups() const {
  return program_->groups;
}

std::u32string_view Match::group(int g) const {
  if (!matched(g)) return {};
  return subject_.substr(start(g), end(g) - start(g));
}

int Match::index(std::string_view name) const {
  for (const auto& entry : regex_->program_->names) {
    if (entry.first == name) return entry.second;
  }
  throw std::logic_error("regex: no group named " + std::string(name));
}

bool Regex::match_at(std::u32string_view s, std::size_t at, Match& m) const {
  Machine vm(*program_, s);
  std::vector<std::ptrdiff_t> caps(2 * static_cast<std::size_t>(program_->groups + 1), -1);
  std::ptrdiff_t end = 0;
  if (!vm.run(0, static_cast<std::ptrdiff_t>(at), caps, end)) return false;
  caps[0] = static_cast<std::ptrdiff_t>(at);
  caps[1] = end;
  m.regex_ = this;
  m.subject_ = s;
  m.spans_ = std::move(caps);
  return true;
}

bool Regex::search(std::u32string_view s, std::size_t from, Match& m) const {
  Machine vm(*program_, s);
  std::vector<std::ptrdiff_t> caps(2 * static_cast<std::size_t>(program_->groups + 1), -1);
  for (std::size_t at = from; at <= s.size(); ++at) {
    std::fill(caps.begin(), caps.end(), -1);
    std::ptrdiff_t end = 0;
    if (vm.run(0, static_cast<std::ptrdiff_t>(at), caps, end)) {
      caps[0] = static_cast<std::ptrdiff_t>(at);
      caps[1] = end;
      m.regex_ = this;
      m.subject_ = s;
      m.spans_ = std::move(caps);
      return true;
    }
  }
  return false;
}

std::vector<Match> Regex::find_all(std::u32string_view s) const {
  std::vector<Match> out;
  std::size_t pos = 0;
  std::ptrdiff_t last_empty = -1;
  Match m;
  while (pos <= s.size() && search(s, pos, m)) {
    if (m.start() == m.end() && static_cast<std::ptrdiff_t>(m.start()) == last_empty) {
      if (m.start() >= s.size()) break;
      pos = m.start() + 1;  // no second empty match at the same place
      continue;
    }
    pos = m.end();
    if (m.start() == m.end()) last_empty = static_cast<std::ptrdiff_t>(m.start());
    out.push_back(m);
  }
  return out;
}

std::u32string Regex::sub(std::u32string_view s,
                          const std::function<std::u32string(const Match&)>& repl) const {
  std::u32string out;
  std::size_t copied = 0;
  for (const Match& m : find_all(s)) {
    out.append(s.substr(copied, m.start() - copied));
    out.append(repl(m));
    copied = m.end();
  }
  out.append(s.substr(copied));
  return out;
}

std::u32string Regex::sub(std::u32string_view s, std::u32string_view templ) const {
  return sub(s, [templ](const Match& m) {
    std::u32string r;
    for (std::size_t i = 0; i < templ.size(); ++i) {
      if (templ[i] == '\\' && i + 1 < templ.size() && templ[i + 1] >= '1' && templ[i + 1] <= '9') {
        r.append(m.group(static_cast<int>(templ[i + 1] - '0')));
        ++i;
      } else {
        r.push_back(templ[i]);
      }
    }
    return r;
  });
}

}  // namespace emomix::text::re
