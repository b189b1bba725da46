#include "job/noise_search.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "curate/util/strings.h"
#include "job/calibration.h"

namespace curate::service {
namespace {

// `value` rounded to the 3 significant digits std_text writes: the printed value is the probed one.
double snapped(double value) { return std::strtod(std_text(value).c_str(), nullptr); }

}  // namespace

NoiseSearch search_noise(const std::function<double(double)>& ratio_at, const NoiseSearchOptions& o) {
  NoiseSearch out;
  double below = 0, above = std::numeric_limits<double>::infinity();  // stds known below / above the band
  double std = snapped(o.start);
  while (static_cast<int>(out.probes.size()) < o.max_probes && std >= o.least && std <= o.most) {
    const double ratio = ratio_at(std);
    out.probes.push_back({std, ratio});
    if (ratio >= o.low && ratio <= o.high) {
      out.found = std;
      break;
    }
    if (ratio < o.low)
      below = std;
    else
      above = std;  // above the band, or NaN: treated as too much noise
    const double next = std::isinf(above) ? snapped(std * 4)
                        : below == 0      ? snapped(std / 4)
                                          : snapped(std::sqrt(below * above));
    if (next <= below || next >= above) break;  // no std left between the bracket's ends
    std = next;
  }
  return out;
}

std::string describe_probes(const std::vector<NoiseProbe>& probes) {
  std::string out;
  for (const NoiseProbe& p : probes) out += cat(out.empty() ? "" : ", ", "std ", std_text(p.std), " -> ", p.ratio);
  return out;
}

}  // namespace curate::service
