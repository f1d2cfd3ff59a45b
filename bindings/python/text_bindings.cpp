// emomix._native.text — the text frontend (native/include/emomix/text.hpp) for Python.
//
// emomix.text (sdk/emomix/text/) is the public API; it calls these functions. Strings cross as
// code points (no UTF-8 round trip, so positions match and lone surrogates are reported, not
// rejected). The GIL is released around every call into the frontend. Errors: TextError becomes
// the matching exception of emomix.text.errors (built by its _from_native), FrontendUnavailable
// emomix.text.FrontendUnavailableError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "emomix/text.hpp"

namespace py = pybind11;
namespace text = emomix::text;

namespace {

std::u32string to_u32(py::handle obj, const char* what) {
  if (!PyUnicode_Check(obj.ptr())) {
    throw py::type_error(std::string(what) + " must be a str, not " + Py_TYPE(obj.ptr())->tp_name);
  }
  const Py_ssize_t n = PyUnicode_GET_LENGTH(obj.ptr());
  std::u32string out(static_cast<std::size_t>(n), U'\0');
  if (n > 0 &&
      PyUnicode_AsUCS4(obj.ptr(), reinterpret_cast<Py_UCS4*>(out.data()), n, 0) == nullptr) {
    throw py::error_already_set();
  }
  return out;
}

py::str to_py(std::u32string_view s) {
  PyObject* o =
      PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, s.data(), static_cast<Py_ssize_t>(s.size()));
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

py::list problems_to_py(const std::vector<text::Problem>& problems) {
  py::list out;
  for (const text::Problem& p : problems) {
    out.append(py::make_tuple(p.position, to_py(std::u32string(1, p.character))));
  }
  return out;
}

const char* kind_name(text::TextError::Kind kind) {
  switch (kind) {
    case text::TextError::Kind::kEmpty:
      return "empty";
    case text::TextError::Kind::kNothingToSay:
      return "nothing_to_say";
    case text::TextError::Kind::kNoSymbols:
      return "no_symbols";
    case text::TextError::Kind::kTooLong:
      return "too_long";
    case text::TextError::Kind::kUnsupportedText:
      return "unsupported_text";
    case text::TextError::Kind::kUnsupportedLanguage:
      return "unsupported_language";
    case text::TextError::Kind::kUnknownSymbol:
      return "unknown_symbol";
  }
  return "unknown";
}

// Sets the Python error for a frontend exception: emomix.text.errors._from_native(kind, message,
// detail) builds it; should that fail, a ValueError / RuntimeError with the C++ message.
void raise_from_native(const char* kind, const std::string& message, const py::dict& detail,
                       PyObject* fallback) {
  try {
    py::object factory = py::module_::import("emomix.text.errors").attr("_from_native");
    py::object exc = factory(kind, message, detail);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  } catch (py::error_already_set&) {
    PyErr_SetString(fallback, message.c_str());
  }
}

void translate(std::exception_ptr p) {
  try {
    if (p) std::rethrow_exception(p);
  } catch (const text::TextError& e) {
    py::dict detail;
    detail["length"] = e.length;
    detail["limit"] = e.limit;
    detail["problems"] = problems_to_py(e.problems);
    detail["language"] = e.language;
    py::list symbols;
    for (const std::u32string& s : e.symbols)
      symbols.append(to_py(s));
    detail["symbols"] = symbols;
    detail["text"] = to_py(e.text);
    detail["dropped"] = problems_to_py(e.dropped);
    raise_from_native(kind_name(e.kind()), e.what(), detail, PyExc_ValueError);
  } catch (const text::FrontendUnavailable& e) {
    raise_from_native("unavailable", e.what(), py::dict(), PyExc_RuntimeError);
  }
}

text::SymbolTable::OnUnknown on_unknown_arg(const std::string& on_unknown) {
  if (on_unknown == "error") return text::SymbolTable::OnUnknown::kError;
  if (on_unknown == "skip") return text::SymbolTable::OnUnknown::kSkip;
  throw py::value_error("on_unknown must be 'error' or 'skip', not '" + on_unknown + "'");
}

std::vector<std::u32string> tokens_arg(const py::iterable& tokens) {
  std::vector<std::u32string> out;
  for (py::handle t : tokens)
    out.push_back(to_u32(t, "a token"));
  return out;
}

py::array_t<std::int64_t> ids_to_py(const std::vector<std::int64_t>& ids) {
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(ids.size()));
  if (!ids.empty()) std::memcpy(out.mutable_data(), ids.data(), ids.size() * sizeof(std::int64_t));
  return out;
}

}  // namespace

void register_text(py::module_& m) {
  py::register_exception_translator(&translate);
  py::module_ t =
      m.def_submodule("text",
                      "The text frontend (docs/text.md): normalisation, sentences, number words, "
                      "phonemisation with libespeak-ng, symbol tables. Called by emomix.text.");

  t.attr("MAX_CHARS") = text::kMaxChars;
  t.attr("CACHE_MAX_CHARS") = text::kCacheMaxChars;
  t.attr("PROSODY_MARKS") = to_py(text::kProsodyMarks);

  t.def(
      "normalize",
      [](const py::object& s, bool strict) {
        const std::u32string in = to_u32(s, "text");
        text::Normalized r;
        {
          py::gil_scoped_release release;
          r = text::normalize(in, strict);
        }
        return py::make_tuple(to_py(r.text), problems_to_py(r.dropped));
      },
      py::arg("text"), py::arg("strict") = true,
      "(normalised text, dropped) where dropped lists (position, character) of the unspeakable "
      "characters removed when strict is False.");

  t.def(
      "split_sentences",
      [](const py::object& s, std::size_t max_chars) {
        const std::u32string in = to_u32(s, "text");
        std::vector<std::u32string> pieces;
        {
          py::gil_scoped_release release;
          pieces = text::split_sentences(in, max_chars);
        }
        py::list out;
        for (const std::u32string& p : pieces)
          out.append(to_py(p));
        return out;
      },
      py::arg("text"), py::arg("max_chars") = 400);

  t.def(
      "phonemize",
      [](const py::object& s, const std::string& language) {
        const std::u32string in = to_u32(s, "text");
        std::u32string tokens;
        {
          py::gil_scoped_release release;
          tokens = text::phonemize(in, language);
        }
        return to_py(tokens);
      },
      py::arg("text"), py::arg("language") = "en-us",
      "The tokens of normalised text as one string, one token per character.");

  t.def("espeak_available", [] {
    py::gil_scoped_release release;
    return text::espeak_available();
  });
  t.def("espeak_version", [] {
    py::gil_scoped_release release;
    return text::espeak_version();
  });
  t.def("clear_cache", [] {
    py::gil_scoped_release release;
    text::clear_cache();
  });
  t.def(
      "unicode_version", [] { return std::string(text::unicode_version()); },
      "The Unicode version of the frontend's character tables.");

  py::class_<text::SymbolTable>(t, "SymbolTable", "token -> id; immutable, thread-safe.")
      .def(py::init(
               [](const py::iterable& symbols) { return text::SymbolTable(tokens_arg(symbols)); }),
           py::arg("symbols"))
      .def("__len__", &text::SymbolTable::size)
      .def(
          "encode",
          [](const text::SymbolTable& table, const py::iterable& tokens,
             const std::string& on_unknown) {
            const text::SymbolTable::OnUnknown mode = on_unknown_arg(on_unknown);
            const std::vector<std::u32string> in = tokens_arg(tokens);
            std::vector<std::int64_t> ids;
            {
              py::gil_scoped_release release;
              ids = table.encode(in, mode);
            }
            return ids;
          },
          py::arg("tokens"), py::arg("on_unknown") = "error");

  t.def(
      "text_to_ids",
      [](const py::object& s, const text::SymbolTable& table, const std::string& language,
         bool strict, const std::string& on_unknown) {
        const text::SymbolTable::OnUnknown mode = on_unknown_arg(on_unknown);
        const std::u32string in = to_u32(s, "text");
        text::TextIds r;
        {
          py::gil_scoped_release release;
          r = text::text_to_ids(in, table, language, strict, mode);
        }
        return py::make_tuple(ids_to_py(r.ids), problems_to_py(r.dropped));
      },
      py::arg("text"), py::arg("symbols"), py::arg("language") = "en-us", py::arg("strict") = true,
      py::arg("on_unknown") = "error",
      "(ids int64 (n,), dropped): normalize -> phonemize -> encode in one call.");

  // Number words; integers are passed as decimal digit strings.
  const auto digits_fn = [&t](const char* name, std::u32string (*fn)(std::u32string_view)) {
    t.def(
        name, [fn](const py::object& digits) { return to_py(fn(to_u32(digits, "digits"))); },
        py::arg("digits"));
  };
  digits_fn("cardinal", &text::numerals::cardinal);
  digits_fn("ordinal", &text::numerals::ordinal);
  digits_fn("year", &text::numerals::year);
  digits_fn("digits", &text::numerals::digits);
  digits_fn("pluralize_number_words", &text::numerals::pluralize_number_words);
  t.def(
      "decimal",
      [](const py::object& a, const py::object& b) {
        return to_py(
            text::numerals::decimal(to_u32(a, "integer_part"), to_u32(b, "fraction_part")));
      },
      py::arg("integer_part"), py::arg("fraction_part"));
  t.def(
      "fraction",
      [](const py::object& a, const py::object& b) {
        return to_py(text::numerals::fraction(to_u32(a, "numerator"), to_u32(b, "denominator")));
      },
      py::arg("numerator"), py::arg("denominator"));
}
