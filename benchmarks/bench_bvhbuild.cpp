// BVH build time and quality: the binary SAH build (buildBvh) of a model's triangles in their
// file order, and the whole Scene::fromTriangles (build, sorted copy, wide BVH), on each thread
// count asked for: best wall and CPU time of --runs, the tree's SAH cost (the builder's own cost
// model: 3 per node visit, 4 per packet of eight triangles, weighted by surface area relative to
// the root) and a hash of the tree taken depth first (equal hashes: the same tree, whatever the
// node numbering).
// Usage: bench_bvhbuild [--runs N] [--threads 1,2] model...
#include "bvhbuilder.h"
#include "scene.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QStringList>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

using farm::Result;
using namespace farm::render;

namespace {

double cpuSeconds()
{
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

float halfArea(const BvhNode &n)
{
    const float dx = n.hi[0] - n.lo[0], dy = n.hi[1] - n.lo[1], dz = n.hi[2] - n.lo[2];
    return dx * dy + dy * dz + dz * dx;
}

struct TreeSummary
{
    double sahCost = 0.0;
    uint64_t hash = 1469598103934665603ull; // FNV-1a
    size_t nodes = 0;
    size_t leaves = 0;
};

void mix(uint64_t &h, const void *data, size_t bytes)
{
    const auto *p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < bytes; ++i)
        h = (h ^ p[i]) * 1099511628211ull;
}

TreeSummary summarize(const std::vector<BvhNode> &nodes, const std::vector<uint32_t> &primIds)
{
    TreeSummary s;
    if (nodes.empty())
        return s;
    const double root = std::max(double(halfArea(nodes[0])), 1e-30);
    std::vector<uint32_t> stack{0u};
    while (!stack.empty()) {
        const BvhNode &n = nodes[stack.back()];
        stack.pop_back();
        ++s.nodes;
        mix(s.hash, n.lo, sizeof n.lo);
        mix(s.hash, n.hi, sizeof n.hi);
        mix(s.hash, &n.count, sizeof n.count);
        const double weight = double(halfArea(n)) / root;
        if (n.count > 0) {
            ++s.leaves;
            s.sahCost += weight * 4.0 * double((n.count + 7) / 8);
            mix(s.hash, primIds.data() + n.first, n.count * sizeof(uint32_t));
            continue;
        }
        s.sahCost += weight * 3.0;
        stack.push_back(n.first + 1);
        stack.push_back(n.first);
    }
    return s;
}

/// The scene's triangles back in the order the file had them (primIds: slot -> file index).
TriangleMesh fileOrder(const Scene &scene)
{
    const TriangleMesh &sorted = scene.mesh();
    const std::vector<uint32_t> &ids = scene.primIds();
    TriangleMesh m;
    m.materials = sorted.materials;
    m.positions.resize(sorted.positions.size());
    m.normals.resize(sorted.normals.size());
    m.albedo.resize(sorted.albedo.size());
    m.materialIds.resize(sorted.materialIds.size());
    for (size_t slot = 0; slot < ids.size(); ++slot) {
        for (size_t k = 0; k < 3; ++k) {
            m.positions[3 * ids[slot] + k] = sorted.positions[3 * slot + k];
            m.normals[3 * ids[slot] + k] = sorted.normals[3 * slot + k];
            m.albedo[3 * ids[slot] + k] = sorted.albedo[3 * slot + k];
        }
        m.materialIds[ids[slot]] = sorted.materialIds[slot];
    }
    return m;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QStringList args = app.arguments().mid(1);
    int runs = 5;
    std::vector<int> threadCounts{1, 2};
    QStringList models;
    for (int i = 0; i < args.size(); ++i) {
        if (args[i] == "--runs" && i + 1 < args.size()) {
            runs = std::max(1, args[++i].toInt());
        } else if (args[i] == "--threads" && i + 1 < args.size()) {
            threadCounts.clear();
            for (const QString &t : args[++i].split(','))
                threadCounts.push_back(std::max(1, t.toInt()));
        } else {
            models.append(args[i]);
        }
    }
    if (models.isEmpty()) {
        std::fprintf(stderr, "usage: bench_bvhbuild [--runs N] [--threads 1,2] model...\n");
        return 2;
    }
    for (const QString &path : models) {
        Result<Scene> loaded = Scene::load(path);
        if (!loaded) {
            std::fprintf(stderr, "%s: %s\n", qPrintable(path), qPrintable(loaded.error().message));
            return 1;
        }
        const TriangleMesh input = fileOrder(*loaded);
        const size_t n = input.triangleCount();
        std::printf("%s: %zu triangles, best of %d runs\n", qPrintable(path), n, runs);
        std::printf("  %-7s %9s %9s %9s %9s %11s %9s %18s\n", "threads", "build ms", "CPU ms",
                    "scene ms", "CPU ms", "SAH cost", "nodes", "tree hash");
        for (int threads : threadCounts) {
            BvhBuildOptions options;
            options.threads = threads;
            double buildWall = 1e30, buildCpu = 1e30, sceneWall = 1e30, sceneCpu = 1e30;
            TreeSummary summary;
            for (int r = 0; r < runs; ++r) {
                QElapsedTimer timer;
                timer.start();
                double cpu = cpuSeconds();
                const Bvh bvh = buildBvh(input.positions.data(), n, options);
                buildWall = std::min(buildWall, double(timer.nsecsElapsed()) / 1e6);
                buildCpu = std::min(buildCpu, (cpuSeconds() - cpu) * 1e3);
                summary = summarize(bvh.nodes, bvh.primIds);
                TriangleMesh copy = input;
                timer.restart();
                cpu = cpuSeconds();
                const Result<Scene> scene = Scene::fromTriangles(std::move(copy), threads);
                sceneWall = std::min(sceneWall, double(timer.nsecsElapsed()) / 1e6);
                sceneCpu = std::min(sceneCpu, (cpuSeconds() - cpu) * 1e3);
                if (!scene)
                    return 1;
            }
            std::printf("  %-7d %9.1f %9.1f %9.1f %9.1f %11.3f %9zu %18llx\n", threads, buildWall,
                        buildCpu, sceneWall, sceneCpu, summary.sahCost, summary.nodes,
                        static_cast<unsigned long long>(summary.hash));
        }
    }
    return 0;
}
