// The voice bundle contract (emomix/voice.hpp). Each function below mirrors the function of
// sdk/emomix/voice/schema.py or bundle.py of the same name, check for check and in the same order,
// so that both name the same field for the same fault (tests/test_voice_contract.py).
#include "emomix/voice.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "emomix/safetensors.hpp"
#include "emomix/sha256.hpp"
#include "emomix/voice_schema.hpp"

namespace emomix {

namespace {

const char* const kFixHint = "fix this field (or re-export the voice bundle)";
const char* const kReexportHint = "re-export or re-download the voice";
const char* const kModifiedHint =
    "file was modified or corrupted after export; re-export or re-download the voice";

std::string quote(const std::string& s) {
  return "'" + s + "'";
}

std::string join_quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : ", ") + quote(s);
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& s) {
  for (const std::string& x : items)
    if (x == s) return true;
  return false;
}

std::string fmt_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// How a value reads in a message ("an object", "the number 3"), like schema._kind.
std::string kind(const Json& v) {
  switch (v.type()) {
    case Json::Type::null:
      return "null";
    case Json::Type::object:
      return "an object";
    case Json::Type::array:
      return "a list";
    case Json::Type::string:
      return "a string";
    case Json::Type::boolean:
      return "a boolean";
    case Json::Type::number:
      return "the number " + json_repr(v);
  }
  return "?";
}

// Raises VoiceError naming voice.json and the dotted field (schema._Checker).
class Checker {
 public:
  explicit Checker(std::string path) : path_(std::move(path)), s_(voice_schema()) {}

  [[noreturn]] void fail(const std::string& field, const std::string& problem,
                         const std::string& hint = kFixHint) const {
    throw VoiceError(path_, field.empty() ? s_.meta_file : s_.meta_file + ":" + field, problem,
                     hint);
  }

  const Json& dict(const Json& v, const std::string& field) const {
    if (!v.is_object()) fail(field, "must be a JSON object, got " + kind(v));
    return v;
  }

  void keys(const Json& obj, const std::string& field,
            const std::vector<std::string>& required) const {
    std::vector<std::string> missing;
    for (const std::string& k : required)
      if (obj.find(k) == nullptr) missing.push_back(k);
    if (!missing.empty()) {
      fail((field.empty() ? "" : field + ".") + missing[0],
           "required key is missing (missing: " + join(missing) + ")",
           "add it, or re-export the voice bundle with this emomix");
    }
  }

  const std::string& str(const Json& v, const std::string& field,
                         const std::vector<std::string>* choices = nullptr,
                         bool nonempty = true) const {
    if (!v.is_string()) fail(field, "must be a string, got " + kind(v));
    if (nonempty && v.string().empty()) fail(field, "must not be empty");
    if (choices != nullptr && !contains(*choices, v.string())) {
      fail(field, "is " + quote(v.string()) + "; expected one of " + join_quoted(*choices));
    }
    return v.string();
  }

  std::int64_t integer(const Json& v, const std::string& field,
                       std::optional<std::int64_t> min_value = std::nullopt,
                       std::optional<std::int64_t> max_value = std::nullopt) const {
    if (!v.is_integer()) fail(field, "must be an integer, got " + kind(v));
    // An integer literal beyond 64 bits: below any minimum when negative, above any maximum
    // otherwise; either way beyond the schema's max_integer.
    const bool negative = v.integer_fits() ? v.integer() < 0 : v.number() < 0;
    if (min_value && (v.integer_fits() ? v.integer() < *min_value : negative)) {
      fail(field, "is " + json_repr(v) + "; must be >= " + std::to_string(*min_value));
    }
    if (max_value && (v.integer_fits() ? v.integer() > *max_value : !negative)) {
      fail(field, "is " + json_repr(v) + "; must be <= " + std::to_string(*max_value));
    }
    if (!v.integer_fits() || v.integer() > s_.max_integer || v.integer() < -s_.max_integer) {
      fail(field, "is " + json_repr(v) + "; integers in voice.json must be within +-" +
                      std::to_string(s_.max_integer));
    }
    return v.integer();
  }

  double num(const Json& v, const std::string& field, std::optional<double> low = std::nullopt,
             std::optional<double> high = std::nullopt, bool positive = false) const {
    if (!v.is_number()) fail(field, "must be a number, got " + kind(v));
    const double x = v.number();
    if (!std::isfinite(x))
      fail(field, "is " + json_repr(v) + "; must be finite (no NaN or infinity)");
    if (positive && x <= 0) fail(field, "is " + json_repr(v) + "; must be > 0");
    if ((low && x < *low) || (high && x > *high)) {
      fail(field, "is " + json_repr(v) + "; must be in [" + (low ? float_repr(*low) : "None") +
                      ", " + (high ? float_repr(*high) : "None") + "]");
    }
    return x;
  }

  std::vector<double> num_list(const Json& v, const std::string& field,
                               std::optional<std::size_t> length = std::nullopt) const {
    if (!v.is_array()) fail(field, "must be a list of numbers, got " + kind(v));
    if (length && v.items().size() != *length) {
      fail(field, "has " + std::to_string(v.items().size()) + " values; expected " +
                      std::to_string(*length));
    }
    std::vector<double> out;
    out.reserve(v.items().size());
    for (std::size_t i = 0; i < v.items().size(); ++i) {
      const Json& x = v.items()[i];
      const std::string f = field + "[" + std::to_string(i) + "]";
      if (!x.is_number()) fail(f, "must be a number, got " + kind(x));
      if (!std::isfinite(x.number()))
        fail(f, "is " + json_repr(x) + "; must be finite (no NaN or infinity)");
      out.push_back(x.number());
    }
    return out;
  }

  const VoiceSchema& schema() const noexcept { return s_; }

 private:
  std::string path_;
  const VoiceSchema& s_;
};

const Json& member(const Json& obj, const std::string& key) {
  return *obj.find(key);
}

// schema._validate_pitch
void validate_pitch(const Checker& c, const Json& pitch, VoicePitch& out) {
  const VoiceSchema& s = c.schema();
  const std::string field = "model.config.pitch";
  c.dict(pitch, field);
  const Json* enabled = pitch.find("enabled");
  if (enabled != nullptr && !enabled->is_boolean()) {
    c.fail(field + ".enabled", "must be true or false, got " + kind(*enabled));
  }
  if (enabled == nullptr || !enabled->boolean()) return;
  c.keys(pitch, field, s.pitch_required);
  out.enabled = true;
  out.hidden =
      static_cast<int>(c.integer(member(pitch, "hidden"), field + ".hidden", 1, s.pitch_size_max));
  out.kernel =
      static_cast<int>(c.integer(member(pitch, "kernel"), field + ".kernel", 1, s.pitch_size_max));
  if (out.kernel % 2 == 0) {
    c.fail(field + ".kernel",
           "is " + std::to_string(out.kernel) + "; must be odd ('same' padding)");
  }
  out.harmonic_floor = c.num(member(pitch, "harmonic_floor"), field + ".harmonic_floor",
                             std::nullopt, std::nullopt, true);
  out.envelope_sigma = c.num(member(pitch, "envelope_sigma"), field + ".envelope_sigma",
                             s.envelope_sigma_min, s.envelope_sigma_max);
  out.f0_min = c.num(member(pitch, "f0_min"), field + ".f0_min", std::nullopt, std::nullopt, true);
  out.f0_max = c.num(member(pitch, "f0_max"), field + ".f0_max");
  if (out.f0_max <= out.f0_min) {
    c.fail(field + ".f0_max",
           "is " + fmt_g(out.f0_max) + " Hz, not above f0_min (" + fmt_g(out.f0_min) + " Hz)",
           "use 0 < f0_min < f0_max");
  }
}

// schema._validate_model
const Json& validate_model(const Checker& c, const Json& model, VoiceInfo& v) {
  const VoiceSchema& s = c.schema();
  c.dict(model, "model");
  c.keys(model, "model", s.model_required);
  const std::vector<std::string> families = {s.model_family};
  v.model_family = c.str(member(model, "family"), "model.family", &families);
  const std::string& p =
      c.str(member(model, "parameterisation"), "model.parameterisation", &s.parameterisations);
  v.parameterisation = parse_parameterisation(p);
  const Json& config = c.dict(member(model, "config"), "model.config");
  for (const std::string& key : s.config_positive_integers) {
    if (const Json* x = config.find(key)) c.integer(*x, "model.config." + key, 1);
  }
  if (const Json* cp = config.find("parameterisation")) {
    if (!cp->is_string() || cp->string() != p) {
      c.fail("model.config.parameterisation",
             "is " + json_repr(*cp) + " but model.parameterisation is " + quote(p),
             "the two must agree; re-export the voice");
    }
  }
  if (const Json* a = config.find("audio")) c.dict(*a, "model.config.audio");
  if (const Json* b = config.find("beta_min")) {
    v.has_beta_min = true;
    v.beta_min = c.num(*b, "model.config.beta_min", std::nullopt, std::nullopt, true);
  }
  if (const Json* b = config.find("beta_max")) {
    v.has_beta_max = true;
    v.beta_max = c.num(*b, "model.config.beta_max", std::nullopt, std::nullopt, true);
  }
  if (v.has_beta_min && v.has_beta_max && v.beta_min >= v.beta_max) {
    c.fail(
        "model.config.beta_min",
        "is " + fmt_g(v.beta_min) + ", not below model.config.beta_max (" + fmt_g(v.beta_max) + ")",
        "use 0 < beta_min < beta_max");
  }
  if (const Json* pitch = config.find("pitch")) validate_pitch(c, *pitch, v.pitch);
  v.model_config = config;
  return config;
}

// schema._validate_audio
void validate_audio(const Checker& c, const Json& audio, const Json& config, VoiceAudio& a) {
  const VoiceSchema& s = c.schema();
  c.dict(audio, "audio");
  c.keys(audio, "audio", s.audio_required);
  const std::int64_t big = s.audio_size_max;
  const auto sr = c.integer(member(audio, "sample_rate"), "audio.sample_rate", 1, big);
  const auto n_fft = c.integer(member(audio, "n_fft"), "audio.n_fft", 1, big);
  const auto hop = c.integer(member(audio, "hop_length"), "audio.hop_length", 1, big);
  const auto win = c.integer(member(audio, "win_length"), "audio.win_length", 1, big);
  const char* const order_hint = "use hop_length <= win_length <= n_fft";
  if (hop > n_fft) {
    c.fail("audio.hop_length",
           "is " + std::to_string(hop) + ", larger than audio.n_fft (" + std::to_string(n_fft) +
               "); frames would skip samples",
           order_hint);
  }
  if (win > n_fft) {
    c.fail(
        "audio.win_length",
        "is " + std::to_string(win) + ", larger than audio.n_fft (" + std::to_string(n_fft) + ")",
        order_hint);
  }
  if (hop > win) {
    c.fail("audio.hop_length",
           "is " + std::to_string(hop) + ", larger than audio.win_length (" + std::to_string(win) +
               "); frames would skip samples",
           order_hint);
  }
  a.sample_rate = static_cast<int>(sr);
  a.n_fft = static_cast<int>(n_fft);
  a.hop_length = static_cast<int>(hop);
  a.win_length = static_cast<int>(win);
  a.window = c.str(member(audio, "window"), "audio.window", &s.windows);
  a.n_mels = static_cast<int>(c.integer(member(audio, "n_mels"), "audio.n_mels", 1, big));
  a.f_min = c.num(member(audio, "f_min"), "audio.f_min", 0.0);
  a.f_max = c.num(member(audio, "f_max"), "audio.f_max", std::nullopt, std::nullopt, true);
  if (a.f_max > static_cast<double>(sr) / 2) {
    c.fail("audio.f_max",
           "is " + fmt_g(a.f_max) + " Hz, above the Nyquist frequency sample_rate/2 = " +
               fmt_g(static_cast<double>(sr) / 2) + " Hz",
           "use f_max <= sample_rate / 2");
  }
  if (a.f_min >= a.f_max) {
    c.fail("audio.f_min",
           "is " + fmt_g(a.f_min) + " Hz, not below audio.f_max (" + fmt_g(a.f_max) + " Hz)",
           "use f_min < f_max");
  }
  a.mel_scale = c.str(member(audio, "mel_scale"), "audio.mel_scale", &s.mel_scales);
  a.log_floor =
      c.num(member(audio, "log_floor"), "audio.log_floor", std::nullopt, std::nullopt, true);
  a.mel_mean = c.num(member(audio, "mel_mean"), "audio.mel_mean");
  a.mel_std = c.num(member(audio, "mel_std"), "audio.mel_std", std::nullopt, std::nullopt, true);

  // The model was trained on features made with model.config.audio: both copies must agree.
  const Json* model_audio = config.find("audio");
  if (model_audio == nullptr) return;
  for (const std::string& key : s.audio_required) {
    const Json* m = model_audio->find(key);
    if (m != nullptr && !json_equal(*m, member(audio, key))) {
      c.fail("audio." + key,
             "is " + json_repr(member(audio, key)) + " but model.config.audio." + key + " is " +
                 json_repr(*m),
             "the audio config and the model must agree; re-export the voice");
    }
  }
}

// schema._validate_symbols
void validate_symbols(const Checker& c, const Json& symbols, const Json& config, VoiceInfo& v) {
  const VoiceSchema& s = c.schema();
  c.dict(symbols, "symbols");
  c.keys(symbols, "symbols", s.symbols_required);
  const Json& table = member(symbols, "table");
  if (!table.is_array() || table.items().empty()) {
    c.fail("symbols.table", "must be a non-empty list of symbols, got " + kind(table));
  }
  std::map<std::string, std::size_t> seen;  // symbol -> id
  v.symbols.reserve(table.items().size());
  for (std::size_t i = 0; i < table.items().size(); ++i) {
    const std::string field = "symbols.table[" + std::to_string(i) + "]";
    const std::string& sym = c.str(table.items()[i], field);
    const auto [it, fresh] = seen.emplace(sym, i);
    if (!fresh) {
      c.fail(field,
             "symbol " + quote(sym) + " is a duplicate of id " + std::to_string(it->second) +
                 "; every symbol must map to one id",
             "re-export the voice");
    }
    v.symbols.push_back(sym);
  }
  if (v.symbols[0] != s.pad_symbol) {
    c.fail(
        "symbols.table[0]",
        "is " + quote(v.symbols[0]) + "; the pad symbol " + quote(s.pad_symbol) + " must have id 0",
        "re-export the voice with the pad symbol first");
  }
  if (const Json* n = config.find("n_symbols")) {
    if (static_cast<std::int64_t>(v.symbols.size()) > n->integer()) {
      c.fail("symbols.table",
             "has " + std::to_string(v.symbols.size()) + " symbols but model.config.n_symbols is " +
                 json_repr(*n),
             "the symbol table and the model must agree");
    }
  }
  v.language = c.str(member(symbols, "language"), "symbols.language");
}

// schema._validate_speakers
void validate_speakers(const Checker& c, const Json& speakers, const Json& config, VoiceInfo& v) {
  c.dict(speakers, "speakers");
  if (speakers.members().empty()) c.fail("speakers", "is empty; a voice has at least one speaker");
  const std::size_t n = speakers.members().size();
  std::map<std::int64_t, const std::string*> by_id;  // id -> name
  for (const auto& [name, sid_json] : speakers.members()) {
    if (name.empty()) c.fail("speakers", "has an empty speaker name");
    const std::int64_t sid = c.integer(sid_json, "speakers." + name, 0);
    const auto [it, fresh] = by_id.emplace(sid, &name);
    if (!fresh) {
      c.fail("speakers." + name, "id " + std::to_string(sid) + " is also used by speaker " +
                                     quote(*it->second) + "; speaker ids must be unique");
    }
  }
  for (const auto& [name, sid_json] : speakers.members()) {
    if (sid_json.integer() >= static_cast<std::int64_t>(n)) {
      c.fail("speakers." + name, "id " + std::to_string(sid_json.integer()) +
                                     " is out of range; the " + std::to_string(n) +
                                     " speakers must have the ids 0.." + std::to_string(n - 1));
    }
  }
  if (const Json* ns = config.find("n_speakers")) {
    if (static_cast<std::int64_t>(n) > ns->integer()) {
      c.fail("speakers",
             "lists " + std::to_string(n) + " speakers but model.config.n_speakers is " +
                 json_repr(*ns),
             "the speakers and the model must agree");
    }
  }
  v.speakers.resize(n);
  for (const auto& [sid, name] : by_id)
    v.speakers[static_cast<std::size_t>(sid)] = *name;
}

// schema._validate_emotions
void validate_emotions(const Checker& c, const Json& emotions, const Json& config, VoiceInfo& v) {
  const VoiceSchema& s = c.schema();
  c.dict(emotions, "emotions");
  for (const std::string& required : s.required_emotions) {
    if (emotions.find(required) == nullptr) {
      c.fail("emotions." + required,
             "is missing; every voice needs a " + quote(required) +
                 " emotion (the reference for intensity and the default "
                 "state)",
             "add a " + required + " emotion and re-export the voice");
    }
  }
  std::optional<std::int64_t> dim;
  std::string ref;
  if (const Json* d = config.find("emotion_dim")) {
    dim = d->integer();
    ref = "model.config.emotion_dim is " + std::to_string(*dim);
  }
  // the required ones (neutral) first, so a length mismatch names the odd one out; the result
  // keeps the file's order, as Python's dict does
  const auto& members = emotions.members();
  std::vector<std::size_t> order;
  for (const std::string& r : s.required_emotions) {
    for (std::size_t i = 0; i < members.size(); ++i)
      if (members[i].first == r) order.push_back(i);
  }
  for (std::size_t i = 0; i < members.size(); ++i)
    if (!contains(s.required_emotions, members[i].first)) order.push_back(i);
  std::vector<VoiceEmotion> slots(members.size());
  for (std::size_t index : order) {
    const std::string& name = members[index].first;
    const std::string field = "emotions." + name;
    if (name.empty()) c.fail("emotions", "has an empty emotion name");
    const Json& entry = c.dict(members[index].second, field);
    c.keys(entry, field, s.emotion_required);
    const Json& emb = member(entry, "embedding");
    if (!emb.is_array() || emb.items().empty()) {
      c.fail(field + ".embedding", "must be a non-empty list of numbers, got " + kind(emb));
    }
    const auto len = static_cast<std::int64_t>(emb.items().size());
    if (dim && len != *dim) {
      c.fail(field + ".embedding",
             "has " + std::to_string(len) + " values but " + ref +
                 "; every emotion embedding must have emotion_dim values",
             "re-export the voice");
    }
    const std::vector<double> values = c.num_list(emb, field + ".embedding");
    if (!dim) {
      dim = len;
      ref = "emotions." + name + ".embedding has " + std::to_string(len);
    }
    const Json& vad_json = member(entry, "vad");
    const std::vector<double> vad = c.num_list(vad_json, field + ".vad", s.vad_axes.size());
    VoiceEmotion& e = slots[index];
    e.name = name;
    e.embedding.assign(values.begin(), values.end());
    for (std::size_t i = 0; i < vad.size(); ++i) {
      if (!(vad[i] >= s.vad_min && vad[i] <= s.vad_max)) {
        c.fail(field + ".vad[" + std::to_string(i) + "]",
               s.vad_axes[i] + " is " + json_repr(vad_json.items()[i]) + "; must be in [" +
                   fmt_g(s.vad_min) + ", " + fmt_g(s.vad_max) + "]");
      }
      if (i < e.vad.size()) e.vad[i] = vad[i];
    }
  }
  v.emotions = std::move(slots);
  v.emotion_dim = static_cast<int>(*dim);
}

// schema._validate_sampler
void validate_sampler(const Checker& c, const Json& sampler, const std::string& parameterisation,
                      VoiceSampler& out) {
  const VoiceSchema& s = c.schema();
  c.dict(sampler, "sampler");
  c.keys(sampler, "sampler", s.sampler_required);
  const std::string& p =
      c.str(member(sampler, "parameterisation"), "sampler.parameterisation", &s.parameterisations);
  if (p != parameterisation) {
    c.fail("sampler.parameterisation",
           "is " + quote(p) + " but model.parameterisation is " + quote(parameterisation),
           "the sampler must match the model");
  }
  out.parameterisation = parse_parameterisation(p);
  out.steps = static_cast<int>(
      c.integer(member(sampler, "steps"), "sampler.steps", s.steps_min, s.steps_max));
  out.solver = parse_solver(c.str(member(sampler, "solver"), "sampler.solver", &s.solvers_for(p)));
  out.k_max = c.num(member(sampler, "k_max"), "sampler.k_max", s.k_min, s.k_max);
  out.k_min = c.num(member(sampler, "k_min"), "sampler.k_min", s.k_min, s.k_max);
  if (out.k_min > out.k_max) {
    c.fail("sampler.k_min",
           "is " + fmt_g(out.k_min) + ", above sampler.k_max (" + fmt_g(out.k_max) + ")",
           "use 0 <= k_min <= k_max <= 1");
  }
  out.temperature = c.num(member(sampler, "temperature"), "sampler.temperature", std::nullopt,
                          std::nullopt, true);
  out.preset = c.str(member(sampler, "preset"), "sampler.preset", &s.presets);
  out.emotion_scale = s.sampler_default("emotion_scale");
  if (const Json* es = sampler.find("emotion_scale")) {
    out.emotion_scale =
        c.num(*es, "sampler.emotion_scale", s.emotion_scale_min, s.emotion_scale_max);
  }
  out.length_scale = s.sampler_default("length_scale");
  if (const Json* ls = sampler.find("length_scale")) {
    out.length_scale =
        c.num(*ls, "sampler.length_scale", s.length_scale_min, s.length_scale_max);
  }
}

bool is_sha256_hex(const std::string& s, int digits) {
  if (static_cast<int>(s.size()) != digits) return false;
  for (char ch : s)
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

// schema._validate_files
void validate_files(const Checker& c, const Json& files, VoiceInfo& v) {
  const VoiceSchema& s = c.schema();
  c.dict(files, "files");
  if (files.find(s.weights_file) == nullptr) {
    c.fail("files." + s.weights_file, "is missing; every bundle lists its weights file",
           "re-export the voice");
  }
  for (const auto& [rel, entry] : files.members()) {
    const std::string field = "files." + rel;
    const std::string why = check_relative_path(rel);
    if (!why.empty()) c.fail(field, "path " + quote(rel) + " " + why);
    c.dict(entry, field);
    c.keys(entry, field, s.file_required);
    const Json& digest = member(entry, "sha256");
    if (!digest.is_string() || !is_sha256_hex(digest.string(), s.sha256_hex_digits)) {
      c.fail(field + ".sha256",
             "must be " + std::to_string(s.sha256_hex_digits) + " lowercase hex digits");
    }
    const std::int64_t bytes = c.integer(member(entry, "bytes"), field + ".bytes", 0);
    v.files.push_back({rel, digest.string(), static_cast<std::uint64_t>(bytes)});
  }
}

}  // namespace

std::string check_relative_path(const std::string& rel) {
  if (rel.empty()) return "must be a non-empty relative path";
  const bool drive = rel.size() >= 2 && rel[1] == ':' &&
                     ((rel[0] >= 'A' && rel[0] <= 'Z') || (rel[0] >= 'a' && rel[0] <= 'z'));
  if (rel.find('\\') != std::string::npos || rel[0] == '/' || drive) {
    return "must be a relative POSIX path (forward slashes, no drive or leading '/')";
  }
  std::size_t start = 0;
  for (;;) {
    const std::size_t end = rel.find('/', start);
    const std::string part =
        rel.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part == "." || part == "..") {
      return "must not contain '.', '..' or empty components";
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (rel == voice_schema().meta_file) return "voice.json cannot list its own hash";
  return "";
}

const VoiceEmotion* VoiceInfo::emotion(std::string_view name) const noexcept {
  for (const VoiceEmotion& e : emotions)
    if (e.name == name) return &e;
  return nullptr;
}

// schema._validate
VoiceInfo validate_voice_meta(const Json& meta, const std::string& meta_path, bool require_files) {
  const Checker c(meta_path);
  const VoiceSchema& s = c.schema();
  VoiceInfo v;
  v.meta_path = meta_path;
  c.dict(meta, "");

  const Json* format = meta.find("format");
  if (format == nullptr) {
    c.fail(
        "format",
        "required key is missing; a voice bundle's voice.json has \"format\": \"" + s.format + "\"",
        "check that this is an emomix voice bundle");
  }
  if (!format->is_string() || format->string() != s.format) {
    c.fail("format", "is " + json_repr(*format) + "; expected " + quote(s.format),
           "this is not an emomix voice bundle; point emomix at a voice bundle directory");
  }
  v.format = s.format;
  const Json* version = meta.find("format_version");
  if (version == nullptr) {
    c.fail("format_version", "required key is missing",
           "re-export the voice with this emomix (format_version " +
               std::to_string(s.format_version) + ")");
  }
  v.format_version = c.integer(*version, "format_version", s.oldest_format_version);
  if (v.format_version > s.format_version) {
    c.fail("format_version",
           "is " + std::to_string(v.format_version) +
               ", newer than this emomix reads (format_version " +
               std::to_string(s.format_version) + ")",
           "upgrade emomix, or re-export the voice with format_version " +
               std::to_string(s.format_version));
  }

  std::vector<std::string> required;
  for (const std::string& k : s.top_level_required)
    if (require_files || k != "files") required.push_back(k);
  c.keys(meta, "", required);
  v.name = c.str(member(meta, "name"), "name");
  v.description = c.str(member(meta, "description"), "description", nullptr, false);

  const Json& config = validate_model(c, member(meta, "model"), v);
  validate_audio(c, member(meta, "audio"), config, v.audio);
  validate_symbols(c, member(meta, "symbols"), config, v);
  validate_speakers(c, member(meta, "speakers"), config, v);
  v.default_speaker = v.speakers[0];
  if (const Json* ds = meta.find("default_speaker")) {  // optional: who speaks by default
    const std::string& name = c.str(*ds, "default_speaker");
    bool found = false;
    for (std::size_t i = 0; i < v.speakers.size(); ++i) {
      if (v.speakers[i] == name) {
        found = true;
        v.default_speaker_id = static_cast<int>(i);
      }
    }
    if (!found) {
      c.fail("default_speaker",
             "is " + quote(name) + ", which is not one of the speakers (" + join(v.speakers) + ")",
             "name one of them, or drop the key");
    }
    v.default_speaker = name;
  }
  validate_emotions(c, member(meta, "emotions"), config, v);
  validate_sampler(c, member(meta, "sampler"),
                   member(member(meta, "model"), "parameterisation").string(), v.sampler);
  if (require_files || meta.find("files") != nullptr) validate_files(c, member(meta, "files"), v);
  v.provenance = c.dict(member(meta, "provenance"), "provenance");
  return v;
}

namespace {

// The offset of the first byte that is not valid UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view t) {
  std::size_t i = 0;
  while (i < t.size()) {
    const auto b = static_cast<unsigned char>(t[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    unsigned cp, min;
    if (b >= 0xC2 && b <= 0xDF)
      n = 2, cp = b & 0x1Fu, min = 0x80;
    else if (b >= 0xE0 && b <= 0xEF)
      n = 3, cp = b & 0x0Fu, min = 0x800;
    else if (b >= 0xF0 && b <= 0xF4)
      n = 4, cp = b & 0x07u, min = 0x10000;
    else
      return i;
    if (i + n > t.size()) return i;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(t[i + k]);
      if ((c & 0xC0u) != 0x80u) return i;
      cp = (cp << 6) | (c & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return i;
    i += n;
  }
  return std::string_view::npos;
}

bool is_file(const std::string& p, std::uint64_t* size = nullptr) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (size != nullptr) *size = static_cast<std::uint64_t>(st.st_size);
  return true;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// bundle._resolve_dir: the bundle directory of `path` (a directory or its voice.json).
std::string resolve_dir(std::string p) {
  const VoiceSchema& s = voice_schema();
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  const std::size_t slash = p.rfind('/');
  const std::string base = slash == std::string::npos ? p : p.substr(slash + 1);
  if (base == s.meta_file && is_file(p)) {
    return slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
  }
  if (!exists(p)) {
    throw VoiceError(p, s.meta_file, "voice bundle directory does not exist",
                     "check the path; a voice bundle is a directory holding voice.json and "
                     "weights.safetensors");
  }
  if (!is_dir(p)) {
    throw VoiceError(p, s.meta_file, "is not a directory",
                     "pass the voice bundle directory (the one holding voice.json)");
  }
  const std::string meta = (p == "/" ? "" : p) + "/" + s.meta_file;
  if (!is_file(meta)) {
    throw VoiceError(meta, s.meta_file, "voice.json is missing from the bundle directory",
                     "a voice bundle directory holds voice.json and weights.safetensors; copy the "
                     "whole bundle, or re-export it");
  }
  return p;
}

std::string read_file(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw VoiceError(path, field, std::string("cannot be read: ") + std::strerror(errno),
                     "check the file permissions");
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first bytes of a safetensors file: the length field and the header (what the header check
// reads; the data is not touched).
std::string read_head(const std::string& path, std::uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  std::string head(static_cast<std::size_t>(std::min<std::uint64_t>(size, 8)), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  if (head.size() == 8) {
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
      n = (n << 8) | static_cast<unsigned char>(head[i]);
    if (n <= voice_schema().max_header_bytes && 8 + n <= size) {
      head.resize(8 + static_cast<std::size_t>(n));
      in.read(head.data() + 8, static_cast<std::streamsize>(n));
    }
  }
  if (!in) throw InvalidArgument(path + ": cannot be read");
  return head;
}

}  // namespace

VoiceInfo parse_voice_meta(std::string_view text, const std::string& meta_path,
                           bool require_files) {
  const std::string& file = voice_schema().meta_file;
  const std::size_t bad = invalid_utf8_at(text);
  if (bad != std::string_view::npos) {
    throw VoiceError(meta_path, file, "is not UTF-8 text (byte " + std::to_string(bad) + ")",
                     kReexportHint);
  }
  Json meta;
  try {
    meta = parse_json(text);
  } catch (const InvalidArgument& e) {
    std::string problem = std::string("is not valid JSON: ") + e.what();
    if (problem.find("unexpected end of input") != std::string::npos ||
        problem.find("unterminated") != std::string::npos) {
      problem += " (the file is empty or truncated)";
    }
    throw VoiceError(meta_path, file, problem, kReexportHint);
  }
  return validate_voice_meta(meta, meta_path, require_files);
}

namespace {

// Where the files of a bundle come from: its directory, or the caller's memory. Steps 5–7 read
// the files only through this, so both loads check the same things in the same order.
class BundleFiles {
 public:
  virtual ~BundleFiles() = default;
  // The path errors name for bundle-relative `rel`.
  virtual std::string path(const std::string& rel) const = 0;
  // False when the bundle has no file `rel`; else its size in *bytes.
  virtual bool size(const std::string& rel, std::uint64_t* bytes) const = 0;
  // Lowercase hex SHA-256 of `rel` (present); throws InvalidArgument when it cannot be read.
  virtual std::string sha256(const std::string& rel) const = 0;
  // At least the length field and the safetensors header of `rel` (present, `size` bytes), as
  // parse_safetensors_header() wants them; `buffer` may hold them.
  virtual std::string_view head(const std::string& rel, std::uint64_t size,
                                std::string& buffer) const = 0;
  // The hint of "file listed in voice.json is missing".
  virtual const char* missing_hint() const = 0;
};

class DirectoryFiles final : public BundleFiles {
 public:
  explicit DirectoryFiles(const std::string& dir) : prefix_(dir == "/" ? "/" : dir + "/") {}
  std::string path(const std::string& rel) const override { return prefix_ + rel; }
  bool size(const std::string& rel, std::uint64_t* bytes) const override {
    return is_file(path(rel), bytes);
  }
  std::string sha256(const std::string& rel) const override { return sha256_file(path(rel)); }
  std::string_view head(const std::string& rel, std::uint64_t size,
                        std::string& buffer) const override {
    buffer = read_head(path(rel), size);
    return buffer;
  }
  const char* missing_hint() const override {
    return "copy the whole bundle directory; or re-export or re-download the voice";
  }

 private:
  std::string prefix_;
};

class MemoryFiles final : public BundleFiles {
 public:
  // Checks the list (safe, unique paths) and indexes it; the bytes stay the caller's.
  explicit MemoryFiles(const std::vector<VoiceMemoryFile>& files) {
    const std::string& meta = voice_schema().meta_file;
    const char* const hint =
        "give each file its path relative to the bundle directory ('voice.json', "
        "'weights.safetensors'), once";
    for (const VoiceMemoryFile& f : files) {
      const std::string why = f.path == meta ? "" : check_relative_path(f.path);
      if (!why.empty()) {
        throw VoiceError(path(f.path), f.path, "path " + quote(f.path) + " " + why, hint);
      }
      if (!files_.emplace(f.path, f.data).second) {
        throw VoiceError(path(f.path), f.path, "path " + quote(f.path) + " is given twice", hint);
      }
    }
  }
  // The bytes of `rel`, or null when it is not among the files.
  const std::string_view* find(const std::string& rel) const {
    const auto it = files_.find(rel);
    return it == files_.end() ? nullptr : &it->second;
  }
  std::string path(const std::string& rel) const override {
    return std::string(kVoiceMemoryDir) + "/" + rel;
  }
  bool size(const std::string& rel, std::uint64_t* bytes) const override {
    const std::string_view* data = find(rel);
    if (data != nullptr) *bytes = data->size();
    return data != nullptr;
  }
  std::string sha256(const std::string& rel) const override { return sha256_hex(*find(rel)); }
  std::string_view head(const std::string& rel, std::uint64_t, std::string&) const override {
    return *find(rel);  // the whole file: the header check reads only what it needs
  }
  const char* missing_hint() const override {
    return "pass every file of the bundle directory; or re-export or re-download the voice";
  }

 private:
  std::map<std::string, std::string_view> files_;
};

// Steps 5–7 (bundle._check_files, then safetensors_header.read_safetensors_header) on a voice.json
// already validated.
void check_bundle_files(const VoiceInfo& v, const BundleFiles& bundle,
                        const VoiceLoadOptions& options) {
  const VoiceSchema& s = voice_schema();
  for (const VoiceFile& f : v.files) {
    const std::string file = bundle.path(f.path);
    const std::string field = s.meta_file + ":files." + f.path;
    std::uint64_t size = 0;
    if (!bundle.size(f.path, &size)) {
      throw VoiceError(file, field, "file listed in voice.json is missing", bundle.missing_hint());
    }
    if (size != f.bytes) {
      throw VoiceError(file, field + ".bytes",
                       "file has " + std::to_string(size) + " bytes but voice.json lists " +
                           std::to_string(f.bytes),
                       kModifiedHint);
    }
    if (options.verify_hashes) {
      std::string digest;
      try {
        digest = bundle.sha256(f.path);
      } catch (const InvalidArgument& e) {
        throw VoiceError(file, field + ".sha256", e.what(), "check the file permissions");
      }
      if (digest != f.sha256) {
        throw VoiceError(file, field + ".sha256",
                         "sha256 is " + digest + " but voice.json lists " + f.sha256,
                         kModifiedHint);
      }
    }
  }

  const std::string weights = bundle.path(s.weights_file);
  std::uint64_t size = 0;
  if (!bundle.size(s.weights_file, &size)) {
    throw VoiceError(weights, s.weights_file, "cannot be read: no such file",
                     "check the file exists and is readable");
  }
  std::string buffer;
  const std::string_view head = bundle.head(s.weights_file, size, buffer);
  parse_safetensors_header(reinterpret_cast<const unsigned char*>(head.data()), head.size(), size,
                           weights, s.weights_file);
}

}  // namespace

VoiceInfo load_voice(const std::string& path, const VoiceLoadOptions& options) {
  const VoiceSchema& s = voice_schema();
  const std::string dir = resolve_dir(path);
  const DirectoryFiles bundle(dir);
  const std::string meta_path = bundle.path(s.meta_file);
  VoiceInfo v = parse_voice_meta(read_file(meta_path, s.meta_file), meta_path);
  v.dir = dir;
  check_bundle_files(v, bundle, options);
  return v;
}

VoiceInfo load_voice_memory(const std::vector<VoiceMemoryFile>& files,
                            const VoiceLoadOptions& options) {
  const VoiceSchema& s = voice_schema();
  const MemoryFiles bundle(files);
  const std::string meta_path = bundle.path(s.meta_file);
  const std::string_view* meta = bundle.find(s.meta_file);
  if (meta == nullptr) {  // resolve_dir's last check
    throw VoiceError(meta_path, s.meta_file, "voice.json is missing from the bundle's files",
                     "pass voice.json with the bundle's other files (path 'voice.json'); a voice "
                     "bundle holds voice.json and weights.safetensors");
  }
  VoiceInfo v = parse_voice_meta(*meta, meta_path);
  v.dir = kVoiceMemoryDir;
  check_bundle_files(v, bundle, options);
  return v;
}

}  // namespace emomix
