#pragma once

namespace farm::server {

/// Default of `--no-progress-timeout`: seconds a task on a live node may show no progress, log
/// or preview before it fails an attempt and is queued again elsewhere (docs/API.md "Timeouts").
inline constexpr int kDefaultNoProgressS = 900;

} // namespace farm::server
