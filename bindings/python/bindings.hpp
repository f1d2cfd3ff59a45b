// bindings.hpp — the parts of emomix._native, one register_*() per binding source. module.cpp calls
// them in this order: later parts add methods to, and name in signatures, the classes of earlier
// ones (Model before VocoderStream and Session; Session before register_generation).
#pragma once

#include <pybind11/pybind11.h>

// build_info_bindings.cpp: build facts and the CUDA probe (build_info, cuda_*, blas).
void register_build_info(pybind11::module_& m);
// sampler_bindings.cpp: counter-based noise, weight schedules, mix and the mixed-noise sampler
// with a Python denoiser (splitmix64, normal, time_grid, validate_weights, active_conditions, mix,
// sample, cuda_mix_euler).
void register_sampler(pybind11::module_& m);
// model_bindings.cpp: Model (a voice's loaded networks) and load_model.
void register_model(pybind11::module_& m);
// harmonics_bindings.cpp: Model.frame_pitch, Model.render_harmonics and HARMONICS.
void register_harmonics(pybind11::module_& m);
// session_bindings.cpp: VocoderStream, Session (encode, pitch, denoise, vocode, ser, sample,
// synthesize) and tensor_allocations.
void register_session(pybind11::module_& m);
// voice_bindings.cpp: the voice bundle contract (validator, sha256, schema; VoiceError translation).
void register_voice(pybind11::module_& m);
// text_bindings.cpp: the text frontend, emomix._native.text (emomix/text.hpp).
void register_text(pybind11::module_& m);
// generation_bindings.cpp: GenerationConfig, the line plan and Session.synthesize_text.
void register_generation(pybind11::module_& m);
