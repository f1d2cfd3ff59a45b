// Weight schedules: validation errors, active-condition detection, mixing.
#include <cmath>
#include <limits>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/weights.hpp"
#include "harness.hpp"

using emomix::InvalidArgument;
using emomix::WeightsView;

namespace {
WeightsView view(const std::vector<float>& w, int steps, int conditions, int frames = 0) {
  return WeightsView{w.data(), steps, conditions, frames};
}
}  // namespace

TEST(weights_valid_schedules_pass) {
  const std::vector<float> per_step = {1, 0, 0, 0.5f, 0.5f, 0, -0.5f, 0, 1.5f};
  emomix::validate_weights(view(per_step, 3, 3));
  // [N=2, M=2, F=3]; within tolerance of 1.
  const std::vector<float> per_frame = {1, 0.5f, 0, 0, 0.5f, 1.00005f, 0.2f, 0.2f, 0.2f,
                                        0.8f, 0.8f, 0.8f};
  emomix::validate_weights(view(per_frame, 2, 2, 3));
}

TEST(weights_errors_name_step_and_frame) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> w = {1, 0, 0.5f, 0.5f, 0.3f, 0.3f};
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 3, 2)),
                    "W[step 2]: weights sum to 0.6");
  w = {1, 0, nan, 1, 0.5f, 0.5f};
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 3, 2)),
                    "W[step 1]: weight of condition 0 is nan");
  w = {1, 0, 0.5f, 0.5f, inf, 0};
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 3, 2)), "must be finite");
  // [N=1, M=2, F=3]: frame 2 sums to 0.9.
  w = {1, 0.5f, 0.4f, 0, 0.5f, 0.5f};
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 1, 2, 3)),
                    "W[step 0, frame 2]: weights sum to 0.9");
  w = {1.0002f, 0};
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 1, 2)), "within 1e-4");
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(view(w, 0, 2)), "N=0");
  CHECK_THROWS_WITH(InvalidArgument, emomix::validate_weights(WeightsView{}), "null");
}

TEST(weights_active_conditions_skip_zero_weights) {
  // [N=3, M=4]: zero weights (including -0.0) are inactive; negative weights are active.
  const std::vector<float> w = {0, 1, 0, 0, 0.25f, 0, 0.75f, -0.0f, -0.5f, 0, 0, 1.5f};
  const WeightsView v = view(w, 3, 4);
  int idx[4];
  REQUIRE(emomix::active_conditions(v, 0, idx) == 1);
  CHECK(idx[0] == 1);
  REQUIRE(emomix::active_conditions(v, 1, idx) == 2);
  CHECK(idx[0] == 0 && idx[1] == 2);
  REQUIRE(emomix::active_conditions(v, 2, idx) == 2);
  CHECK(idx[0] == 0 && idx[1] == 3);
  // Per frame: a condition is active when any frame has weight.
  const std::vector<float> pf = {1, 1, 0, 0, 0, 1, 0, 0, 0};  // [N=1, M=3, F=3]
  REQUIRE(emomix::active_conditions(view(pf, 1, 3, 3), 0, idx) == 2);
  CHECK(idx[0] == 0 && idx[1] == 1);
  CHECK(!emomix::condition_active(view(pf, 1, 3, 3), 0, 2));
}

TEST(weights_mix_per_step_and_per_frame) {
  // preds [B=2, C=2, F=2]
  const std::vector<float> preds = {1, 2, 3, 4, 10, 20, 30, 40};
  float out[4];
  const float w_step[2] = {0.25f, 0.75f};
  emomix::mix_predictions(preds.data(), w_step, 2, 2, 2, false, out);
  CHECK(out[0] == 0.25f * 1 + 0.75f * 10);
  CHECK(out[3] == 0.25f * 4 + 0.75f * 40);
  const float w_frame[4] = {1, 0, 0, 1};  // frame 0 from row 0, frame 1 from row 1
  emomix::mix_predictions(preds.data(), w_frame, 2, 2, 2, true, out);
  CHECK(out[0] == 1 && out[1] == 20 && out[2] == 3 && out[3] == 40);

  // gather_weights picks W[k, cond[b], :] for the batch.
  const std::vector<float> w = {0.5f, 0, 0.5f, 0.1f, 0.2f, 0.7f};  // [N=2, M=3]
  const int cond[2] = {0, 2};
  float g[2];
  emomix::gather_weights(view(w, 2, 3), 0, cond, 2, g);
  CHECK(g[0] == 0.5f && g[1] == 0.5f);
  emomix::gather_weights(view(w, 2, 3), 1, cond, 2, g);
  CHECK(g[0] == 0.1f && g[1] == 0.7f);
}
