#include "emomix/voice_schema.hpp"

#include <initializer_list>
#include <tuple>

#include "emomix/error.hpp"
#include "emomix/json.hpp"

namespace emomix {

namespace {

const unsigned char kSchemaBytes[] = {
#include "emomix/voice_schema_data.inc"
};

// Walks a path of keys, e.g. node(root, {"sampler", "steps_range"}).
const Json& node(const Json& root, std::initializer_list<const char*> keys) {
  const Json* v = &root;
  std::string path = "schema.json";
  for (const char* k : keys) {
    v = &v->at(k, path);
    path += std::string(".") + k;
  }
  return *v;
}

std::vector<std::string> strings(const Json& v) {
  std::vector<std::string> out;
  if (!v.is_array()) throw InvalidArgument("schema.json: expected a list of strings");
  for (const Json& s : v.items()) {
    if (!s.is_string()) throw InvalidArgument("schema.json: expected a list of strings");
    out.push_back(s.string());
  }
  return out;
}

std::pair<double, double> range(const Json& v) {
  if (!v.is_array() || v.items().size() != 2 || !v.items()[0].is_number() ||
      !v.items()[1].is_number()) {
    throw InvalidArgument("schema.json: expected a [low, high] range");
  }
  return {v.items()[0].number(), v.items()[1].number()};
}

std::int64_t integer(const Json& v) {
  if (!v.integer_fits()) throw InvalidArgument("schema.json: expected an integer");
  return v.integer();
}

const std::string& text(const Json& v) {
  if (!v.is_string()) throw InvalidArgument("schema.json: expected a string");
  return v.string();
}

VoiceSchema parse_schema() {
  const Json root = parse_json(voice_schema_json());
  VoiceSchema s;
  s.format = text(node(root, {"format"}));
  s.format_version = integer(node(root, {"format_version", "current"}));
  s.oldest_format_version = integer(node(root, {"format_version", "oldest"}));
  s.meta_file = text(node(root, {"files", "meta"}));
  s.weights_file = text(node(root, {"files", "weights"}));
  s.json_max_depth = static_cast<int>(integer(node(root, {"json", "max_depth"})));
  s.max_integer = integer(node(root, {"json", "max_integer"}));
  s.top_level_required = strings(node(root, {"top_level", "required"}));
  s.top_level_optional = strings(node(root, {"top_level", "optional"}));
  s.model_required = strings(node(root, {"model", "required"}));
  s.model_family = text(node(root, {"model", "family"}));
  s.parameterisations = strings(node(root, {"model", "parameterisations"}));
  s.config_positive_integers = strings(node(root, {"model", "config_positive_integers"}));
  s.pitch_required = strings(node(root, {"pitch", "required_when_enabled"}));
  std::tie(s.envelope_sigma_min, s.envelope_sigma_max) =
      range(node(root, {"pitch", "envelope_sigma_range"}));
  s.pitch_size_max = integer(node(root, {"pitch", "size_max"}));
  s.audio_required = strings(node(root, {"audio", "required"}));
  s.audio_size_max = integer(node(root, {"audio", "size_max"}));
  s.windows = strings(node(root, {"audio", "windows"}));
  s.mel_scales = strings(node(root, {"audio", "mel_scales"}));
  s.symbols_required = strings(node(root, {"symbols", "required"}));
  s.pad_symbol = text(node(root, {"symbols", "pad"}));
  s.required_emotions = strings(node(root, {"emotions", "required_names"}));
  s.emotion_required = strings(node(root, {"emotions", "entry_required"}));
  s.vad_axes = strings(node(root, {"emotions", "vad_axes"}));
  std::tie(s.vad_min, s.vad_max) = range(node(root, {"emotions", "vad_range"}));
  s.sampler_required = strings(node(root, {"sampler", "required"}));
  for (const auto& [key, value] : node(root, {"sampler", "optional"}).members()) {
    s.sampler_optional.emplace_back(key, value.number());
  }
  for (const auto& [p, list] : node(root, {"sampler", "solvers"}).members()) {
    s.solvers.emplace_back(p, strings(list));
  }
  s.presets = strings(node(root, {"sampler", "presets"}));
  const auto steps = range(node(root, {"sampler", "steps_range"}));
  s.steps_min = static_cast<std::int64_t>(steps.first);
  s.steps_max = static_cast<std::int64_t>(steps.second);
  std::tie(s.k_min, s.k_max) = range(node(root, {"sampler", "k_range"}));
  std::tie(s.emotion_scale_min, s.emotion_scale_max) =
      range(node(root, {"sampler", "emotion_scale_range"}));
  std::tie(s.length_scale_min, s.length_scale_max) =
      range(node(root, {"sampler", "length_scale_range"}));
  s.file_required = strings(node(root, {"file_entry", "required"}));
  s.sha256_hex_digits = static_cast<int>(integer(node(root, {"file_entry", "sha256_hex_digits"})));
  s.max_header_bytes =
      static_cast<std::uint64_t>(integer(node(root, {"safetensors", "max_header_bytes"})));
  for (const auto& [code, d] : node(root, {"safetensors", "dtypes"}).members()) {
    s.dtypes.push_back(
        {code, static_cast<int>(integer(d.at("bytes", code))), text(d.at("kind", code))});
  }
  s.refused_float_dtypes = strings(node(root, {"safetensors", "refused_float_dtypes"}));
  return s;
}

}  // namespace

std::string_view voice_schema_json() {
  return {reinterpret_cast<const char*>(kSchemaBytes), sizeof kSchemaBytes};
}

const VoiceSchema& voice_schema() {
  static const VoiceSchema schema = parse_schema();
  return schema;
}

const std::vector<std::string>& VoiceSchema::solvers_for(std::string_view parameterisation) const {
  static const std::vector<std::string> none;
  for (const auto& [p, list] : solvers)
    if (p == parameterisation) return list;
  return none;
}

const SafetensorsDtype* VoiceSchema::dtype(std::string_view code) const {
  for (const SafetensorsDtype& d : dtypes)
    if (d.code == code) return &d;
  return nullptr;
}

double VoiceSchema::sampler_default(std::string_view key) const {
  for (const auto& [k, v] : sampler_optional)
    if (k == key) return v;
  return 0.0;
}

}  // namespace emomix
