#pragma once

#include "kernel/environment.h"
#include "util/result.h"

#include <QString>

#include <vector>

namespace farm::render {

/// An equirectangular environment map (OpenEXR or Radiance .hdr) with its sampling tables.
class Environment
{
public:
    /// Loads FILE.exr or FILE.hdr. Errors: `io_error` (missing/unreadable), `bad_environment`.
    static Result<Environment> load(const QString &path, float intensity = 1.f);

    /// Builds one from linear RGB texels (width * height * 3), e.g. for tests.
    static Result<Environment> fromPixels(int width, int height, std::vector<float> rgb,
                                          float intensity = 1.f);

    /// Raw-array view for RenderParams; valid while this object lives and is not moved from.
    EnvironmentView view() const;

    int width() const { return m_width; }
    int height() const { return m_height; }

    static constexpr int kMaxSide = 16384;

private:
    int m_width = 0;
    int m_height = 0;
    float m_intensity = 1.f;
    std::vector<float> m_rgb;
    std::vector<float> m_marginal;
    std::vector<float> m_conditional;
};

} // namespace farm::render
