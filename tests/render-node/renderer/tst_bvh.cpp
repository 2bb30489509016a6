// BVH and triangle test: same hits as brute force on real meshes, watertight on closed meshes.
#include "bvhbuilder.h"
#include "directlight.h"
#include "scene.h"
#include "testmeshes.h"

#include <QTest>

#include <cstring>
#include <random>

using farm::Result;
using namespace farm::render;

namespace {

const char *kEngine =
    "/usr/share/assimp/models/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb";
const char *kBearing = "/usr/share/opencascade/data/stl/bearing.stl";
const char *kCube = "/usr/share/assimp/models/OFF/Cube.off";

Hit bruteClosest(const SceneView &s, const Ray &ray)
{
    const PreparedRay r(ray);
    Hit best;
    best.t = ray.tMax;
    for (uint32_t i = 0; i < s.triangleCount; ++i) {
        float t, b1, b2;
        const Vec3 *v = s.positions + 3 * i;
        if (!intersectTriangle(r, v[0], v[1], v[2], best.t, t, b1, b2))
            continue;
        if (t == best.t && best.valid() && s.primIds[i] > s.primIds[best.prim])
            continue;
        best = Hit{t, b1, b2, i};
    }
    return best;
}

Vec3 randomUnit(std::mt19937 &g)
{
    std::normal_distribution<float> n(0.f, 1.f);
    for (;;) {
        const Vec3 v(n(g), n(g), n(g));
        if (length(v) > 1e-3f)
            return normalize(v);
    }
}

/// Random rays around the scene: half in random directions, half aimed at a random point of a
/// random triangle so that most of them hit something.
std::vector<Ray> randomRays(const Scene &scene, int count, uint32_t seed)
{
    std::mt19937 g(seed);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    const SceneView s = scene.view();
    const Aabb b = scene.bounds();
    const Vec3 lo = b.lo - b.extent() * 0.5f;
    const Vec3 size = b.extent() * 2.f;
    std::vector<Ray> rays;
    for (int i = 0; i < count; ++i) {
        Ray r;
        r.origin = lo + size * Vec3(u(g), u(g), u(g));
        if (i % 2 == 0) {
            r.dir = randomUnit(g);
        } else {
            const uint32_t tri = uint32_t(g() % s.triangleCount);
            float a = u(g), c = u(g);
            if (a + c > 1.f) {
                a = 1.f - a;
                c = 1.f - c;
            }
            const Vec3 *v = s.positions + 3 * tri;
            const Vec3 target = v[0] + (v[1] - v[0]) * a + (v[2] - v[0]) * c;
            r.dir = normalize(target - r.origin);
        }
        rays.push_back(r);
    }
    return rays;
}

bool sameBits(Vec3 a, Vec3 b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Sets the wide traversal's instruction set for one scope (restores the CPU's pick after).
class IsaScope
{
public:
    explicit IsaScope(WideIsa isa)
        : m_before(wideIsa())
    {
        setWideIsa(isa);
    }
    ~IsaScope() { setWideIsa(m_before); }
    IsaScope(const IsaScope &) = delete;
    IsaScope &operator=(const IsaScope &) = delete;

private:
    WideIsa m_before;
};

/// The instruction sets this CPU can run the wide traversal with (SSE2 always; AVX2 where the
/// CPU has it).
std::vector<WideIsa> supportedIsas()
{
    std::vector<WideIsa> isas{WideIsa::Sse};
    if (wideIsaSupported(WideIsa::Avx2))
        isas.push_back(WideIsa::Avx2);
    return isas;
}

/// The tree as a sequence of words taken depth first, left child first: each node's box bits
/// and count, a leaf's primitive ids. Equal sequences: the same tree, whatever the numbering.
std::vector<uint32_t> canonicalTree(const Bvh &bvh)
{
    std::vector<uint32_t> words;
    std::vector<uint32_t> stack{0u};
    while (!stack.empty()) {
        const BvhNode &n = bvh.nodes[stack.back()];
        stack.pop_back();
        uint32_t box[6];
        std::memcpy(box, n.lo, sizeof n.lo);
        std::memcpy(box + 3, n.hi, sizeof n.hi);
        words.insert(words.end(), box, box + 6);
        words.push_back(n.count);
        if (n.count > 0) {
            words.insert(words.end(), bvh.primIds.begin() + n.first,
                         bvh.primIds.begin() + n.first + n.count);
            continue;
        }
        stack.push_back(n.first + 1);
        stack.push_back(n.first);
    }
    return words;
}

/// The triangles of a loaded scene back in their file order (primIds: slot -> file index),
/// each split into four at its edge midpoints `levels` times: an input the BVH has not sorted.
std::vector<Vec3> fileOrderPositions(const Scene &scene, int levels)
{
    const std::vector<uint32_t> &ids = scene.primIds();
    const SceneView s = scene.view();
    std::vector<Vec3> p(3 * ids.size());
    for (size_t slot = 0; slot < ids.size(); ++slot)
        for (size_t k = 0; k < 3; ++k)
            p[3 * ids[slot] + k] = s.positions[3 * slot + k];
    for (int l = 0; l < levels; ++l) {
        std::vector<Vec3> q;
        q.reserve(4 * p.size());
        for (size_t t = 0; t < p.size(); t += 3) {
            const Vec3 a = p[t], b = p[t + 1], c = p[t + 2];
            const Vec3 ab = (a + b) * 0.5f, bc = (b + c) * 0.5f, ca = (c + a) * 0.5f;
            for (const Vec3 &v : {a, ab, ca, ab, b, bc, ca, bc, c, ab, bc, ca})
                q.push_back(v);
        }
        p = std::move(q);
    }
    return p;
}

Scene loadOrFail(const QString &path)
{
    Result<Scene> s = Scene::load(path);
    if (!s)
        qFatal("cannot load %s: %s", qPrintable(path), qPrintable(s.error().message));
    return std::move(*s);
}

} // namespace

class TestBvh : public QObject
{
    Q_OBJECT

private slots:
    void matchesBruteForce_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<int>("isa");
        for (const auto &[name, path] :
             {std::pair{"2CylinderEngine.glb", kEngine}, std::pair{"bearing.stl", kBearing}}) {
            QTest::addRow("%s sse", name) << QString::fromLatin1(path) << int(WideIsa::Sse);
            QTest::addRow("%s avx2", name) << QString::fromLatin1(path) << int(WideIsa::Avx2);
        }
    }

    void matchesBruteForce()
    {
        QFETCH(QString, path);
        QFETCH(int, isa);
        if (!wideIsaSupported(WideIsa(isa)))
            QSKIP("this CPU has no AVX2");
        const IsaScope scope{WideIsa(isa)};
        QCOMPARE(int(wideIsa()), isa);
        const Scene scene = loadOrFail(path);
        const SceneView s = scene.view();
        const std::vector<Ray> rays = randomRays(scene, 600, 7);
        int hits = 0;
        for (const Ray &ray : rays) {
            const Hit bvh = intersectClosest(s, ray);
            const Hit wide = intersectClosestWide(scene.wideBvh(), s, ray);
            const Hit ref = bruteClosest(s, ray);
            QCOMPARE(bvh.valid(), ref.valid());
            QCOMPARE(wide.valid(), ref.valid());
            QCOMPARE(intersectAny(s, ray), ref.valid());
            QCOMPARE(intersectAnyWide(scene.wideBvh(), s, ray), ref.valid());
            if (!ref.valid())
                continue;
            ++hits;
            QCOMPARE(bvh.t, ref.t); // exact: the same test on the same triangle
            QCOMPARE(s.primIds[bvh.prim], s.primIds[ref.prim]);
            QCOMPARE(bvh.b1, ref.b1);
            QCOMPARE(wide.t, ref.t);
            QCOMPARE(s.primIds[wide.prim], s.primIds[ref.prim]);
            QCOMPARE(wide.b1, ref.b1);
            QCOMPARE(wide.b2, ref.b2);
            // A shadow ray stopping just short of the closest hit sees nothing.
            Ray shorter = ray;
            shorter.tMax = ref.t * 0.999f;
            const bool blocked = bruteClosest(s, shorter).valid();
            QCOMPARE(intersectAny(s, shorter), blocked);
            QCOMPARE(intersectAnyWide(scene.wideBvh(), s, shorter), blocked);
        }
        QVERIFY2(hits > 240, qPrintable(QStringLiteral("only %1 rays hit").arg(hits)));
    }

    void packetsMatchSingleRays_data() { matchesBruteForce_data(); }

    void packetsMatchSingleRays()
    {
        // intersectClosestWidePacket / intersectAnyWidePacket give each ray the answer the ray
        // gets on its own, bit for bit: packets of rays from one point through a small cone (a
        // pixel's camera rays), from nearby points towards one point (shadow rays to a point
        // light), some cut short, and incoherent packets (traced one by one).
        QFETCH(QString, path);
        QFETCH(int, isa);
        if (!wideIsaSupported(WideIsa(isa)))
            QSKIP("this CPU has no AVX2");
        const IsaScope scope{WideIsa(isa)};
        const Scene scene = loadOrFail(path);
        const SceneView s = scene.view();
        const Aabb b = scene.bounds();
        const float size = length(b.extent());
        std::mt19937 g(11);
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        const std::vector<Ray> aims = randomRays(scene, 400, 5);
        int hits = 0, blocked = 0;
        for (size_t k = 0; k < aims.size(); ++k) {
            const int n = 1 + int(k % kPacketRays);
            const float spread = k % 3 == 0 ? 1e-3f : k % 3 == 1 ? 2e-2f : 0.5f;
            Ray rays[kPacketRays];
            const Vec3 target = aims[k].origin + aims[k].dir * size;
            for (int i = 0; i < n; ++i) {
                Ray r = aims[k];
                if (k % 2 == 0) { // from one point, directions spread
                    r.dir = normalize(aims[k].dir + Vec3(u(g), u(g), u(g)) * spread);
                } else { // from nearby points towards one point
                    r.origin = aims[k].origin + Vec3(u(g), u(g), u(g)) * (spread * size);
                    r.dir = normalize(target - r.origin);
                }
                if (i % 4 == 3)
                    r.tMax = size * (0.2f + 0.1f * float(i));
                rays[i] = r;
            }
            Hit packet[kPacketRays];
            bool occluded[kPacketRays];
            intersectClosestWidePacket(scene.wideBvh(), s, rays, n, packet);
            intersectAnyWidePacket(scene.wideBvh(), s, rays, n, occluded);
            for (int i = 0; i < n; ++i) {
                const Hit one = intersectClosestWide(scene.wideBvh(), s, rays[i]);
                QCOMPARE(packet[i].valid(), one.valid());
                QCOMPARE(occluded[i], intersectAnyWide(scene.wideBvh(), s, rays[i]));
                if (!one.valid())
                    continue;
                ++hits;
                QCOMPARE(packet[i].prim, one.prim);
                QCOMPARE(packet[i].t, one.t);
                QCOMPARE(packet[i].b1, one.b1);
                QCOMPARE(packet[i].b2, one.b2);
                // Cut just short of the hit: nothing in the way, as for the single ray.
                Ray shorter = rays[i];
                shorter.tMax = one.t * 0.999f;
                bool shortBlocked = true;
                intersectAnyWidePacket(scene.wideBvh(), s, &shorter, 1, &shortBlocked);
                QCOMPARE(shortBlocked, intersectAnyWide(scene.wideBvh(), s, shorter));
                blocked += occluded[i] ? 1 : 0;
            }
        }
        QVERIFY2(hits > 1000, qPrintable(QStringLiteral("only %1 rays hit").arg(hits)));
        QCOMPARE(blocked, hits); // any hit within tMax blocks
    }

    void lightSidePacketsMatchSingleRays_data() { matchesBruteForce_data(); }

    void lightSidePacketsMatchSingleRays()
    {
        // Shadow rays from a point light (directlight.h): one origin, towards points close
        // together on the surface (a pixel's samples, or 4 x 4 pixel centres), stopping short of
        // them as shadowRayFromLight does, some cut much shorter. intersectAnyWidePacket gives
        // each the single ray's answer.
        QFETCH(QString, path);
        QFETCH(int, isa);
        if (!wideIsaSupported(WideIsa(isa)))
            QSKIP("this CPU has no AVX2");
        const IsaScope scope{WideIsa(isa)};
        const Scene scene = loadOrFail(path);
        const SceneView s = scene.view();
        std::mt19937 g(23);
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        int blocked = 0, clear = 0, packets = 0;
        for (int k = 0; packets < 250 && k < 5000; ++k) {
            const Vec3 light = s.center + randomUnit(g) * (s.radius * (3.f + 2.f * float(k % 4)));
            // A surface point seen from a camera, and points around it on what the camera sees.
            const Vec3 eye = s.center + randomUnit(g) * (3.f * s.radius);
            const Vec3 aimDir = normalize(s.center + randomUnit(g) * (0.6f * s.radius) - eye);
            const Hit aim = intersectClosestWide(scene.wideBvh(), s, Ray{eye, aimDir, kInfinity});
            if (!aim.valid())
                continue;
            const float spread = k % 2 == 0 ? 1e-3f : 1e-2f; // a pixel, 4 x 4 pixels
            const int n = 2 + k % (kPacketRays - 1);
            Ray rays[kPacketRays];
            int m = 0;
            for (int i = 0; i < n; ++i) {
                const Vec3 d = normalize(aimDir + Vec3(u(g), u(g), u(g)) * spread);
                const Hit h = intersectClosestWide(scene.wideBvh(), s, Ray{eye, d, kInfinity});
                if (!h.valid())
                    continue;
                const Vec3 *v = s.positions + 3 * h.prim;
                Vec3 ng = normalize(cross(v[1] - v[0], v[2] - v[0]));
                if (dot(ng, d) > 0.f)
                    ng = -ng;
                const Vec3 p = v[0] * (1.f - h.b1 - h.b2) + v[1] * h.b1 + v[2] * h.b2;
                const Vec3 origin = p + ng * s.epsilon;
                Vec3 toLight = light - origin;
                const float dist = length(toLight);
                toLight = toLight / dist;
                if (!(dot(ng, toLight) > 0.f))
                    continue; // back-facing: the renderer traces no ray
                Ray r;
                QVERIFY(shadowRayFromLight(light, toLight, dist, s.epsilon, r));
                if (i % 4 == 3)
                    r.tMax *= 0.5f;
                rays[m++] = r;
            }
            if (m < 2)
                continue;
            ++packets;
            bool occluded[kPacketRays];
            intersectAnyWidePacket(scene.wideBvh(), s, rays, m, occluded);
            for (int i = 0; i < m; ++i) {
                QCOMPARE(occluded[i], intersectAnyWide(scene.wideBvh(), s, rays[i]));
                ++(occluded[i] ? blocked : clear);
            }
        }
        // Both answers occur: the light was not always in front, nor always hidden.
        QVERIFY2(packets == 250 && blocked > 200 && clear > 500,
                 qPrintable(QStringLiteral("%1 packets, %2 blocked, %3 clear")
                                .arg(packets)
                                .arg(blocked)
                                .arg(clear)));
    }

    void lightSideRaysStopShortOfTheSurface()
    {
        // The far end of a shadow ray from the light: on a convex sphere no lit point shadows
        // itself (no acne, however the ray meets the surface), while a thin plate of 4 scene
        // epsilons hovering 8 epsilons above a floor still shadows the floor under it, up to the
        // contact, and blocks a ray through it (no light leaks through thin parts).
        const TriangleMesh sphere = test::icosphere(4, 1.5f).toTriangles();
        Result<Scene> ball = Scene::fromTriangles(sphere);
        QVERIFY(ball);
        const SceneView s = ball->view();
        std::mt19937 g(5);
        std::uniform_real_distribution<float> u(0.f, 1.f);
        int lit = 0;
        for (int k = 0; k < 20000; ++k) {
            const Vec3 light = randomUnit(g) * (1.5f * (1.5f + 14.f * u(g)));
            const uint32_t tri = uint32_t(g() % s.triangleCount);
            float a = u(g), c = u(g);
            if (a + c > 1.f) {
                a = 1.f - a;
                c = 1.f - c;
            }
            const Vec3 *v = s.positions + 3 * tri;
            const Vec3 p = v[0] + (v[1] - v[0]) * a + (v[2] - v[0]) * c;
            const Vec3 ng = normalize(cross(v[1] - v[0], v[2] - v[0])); // outwards
            const Vec3 origin = p + ng * s.epsilon;
            Vec3 toLight = light - origin;
            const float dist = length(toLight);
            toLight = toLight / dist;
            if (!(dot(ng, toLight) > 0.f))
                continue; // back-facing: no ray
            Ray r;
            if (!shadowRayFromLight(light, toLight, dist, s.epsilon, r))
                continue;
            ++lit;
            for (WideIsa isa : supportedIsas()) {
                const IsaScope scope{isa};
                if (intersectAnyWide(ball->wideBvh(), s, r))
                    QFAIL(qPrintable(QStringLiteral("point %1 shadows itself (cos %2, distance %3)")
                                         .arg(k)
                                         .arg(double(dot(ng, toLight)))
                                         .arg(double(dist))));
            }
        }
        QVERIFY2(lit > 5000, qPrintable(QString::number(lit)));

        // A 2 x 2 floor at z = 0 and a plate over its x < 0 half, both seen from above.
        TriangleMesh scene;
        const auto quad = [&](Vec3 a, Vec3 b, Vec3 c, Vec3 d) {
            for (const Vec3 &q : {a, b, c, a, c, d}) {
                scene.positions.push_back(q);
                scene.normals.push_back(Vec3(0.f, 0.f, 1.f));
                scene.albedo.push_back(Vec3(0.7f));
            }
        };
        quad(Vec3(-1.f, -1.f, 0.f), Vec3(1.f, -1.f, 0.f), Vec3(1.f, 1.f, 0.f),
             Vec3(-1.f, 1.f, 0.f));
        Result<Scene> floorOnly = Scene::fromTriangles(scene);
        QVERIFY(floorOnly);
        const float eps = floorOnly->view().epsilon;
        for (float z : {8.f * eps, 12.f * eps}) // the plate's two faces
            quad(Vec3(-1.f, -1.f, z), Vec3(0.f, -1.f, z), Vec3(0.f, 1.f, z), Vec3(-1.f, 1.f, z));
        Result<Scene> plated = Scene::fromTriangles(scene);
        QVERIFY(plated);
        const SceneView f = plated->view();
        QCOMPARE(f.epsilon, eps); // the plate lies inside the floor's bounds
        const Vec3 light(0.f, 0.f, 8.f);
        int shadowed = 0, open = 0;
        for (float x = -0.5f; x <= 0.5f; x += 1.f / 64.f) {
            const Vec3 origin(x, 0.1f, eps); // a floor point, lifted by one epsilon
            Vec3 toLight = light - origin;
            const float dist = length(toLight);
            toLight = toLight / dist;
            Ray r;
            QVERIFY(shadowRayFromLight(light, toLight, dist, f.epsilon, r));
            const bool under = x < -4e-4f; // the plate's edge, seen from the light, near x = 0
            const bool far = x > 4e-4f;
            for (WideIsa isa : supportedIsas()) {
                const IsaScope scope{isa};
                const bool hit = intersectAnyWide(plated->wideBvh(), f, r);
                if (under)
                    QVERIFY2(hit, qPrintable(QStringLiteral("light leaks to x = %1").arg(x)));
                if (far)
                    QVERIFY2(!hit, qPrintable(QStringLiteral("shadow at x = %1").arg(x)));
                // The same answer as the ray from the floor point towards the light.
                if (under || far)
                    QCOMPARE(hit, intersectAnyWide(plated->wideBvh(), f,
                                                   Ray{origin, toLight, dist * (1.f - 1e-4f)}));
            }
            shadowed += under;
            open += far;
        }
        QVERIFY(shadowed > 20 && open > 20);
    }

    void coincidentTriangles()
    {
        // Every triangle of an icosphere 24 times over: identical centroids (splits fall back to
        // halving, leaves span packets) and exactly equal distances. The hit is a copy of the
        // brute-force triangle at the same distance; which copy depends on the visiting order
        // (the triangle test's no-division check against the current distance can turn away a
        // copy at exactly that distance), so SSE2 and AVX2, which visit alike, must agree.
        const test::IndexedMesh sphere = test::icosphere(2, 1.5f);
        const TriangleMesh once = sphere.toTriangles();
        const uint32_t unique = uint32_t(once.triangleCount());
        TriangleMesh m;
        for (int copy = 0; copy < 24; ++copy) {
            m.positions.insert(m.positions.end(), once.positions.begin(), once.positions.end());
            m.normals.insert(m.normals.end(), once.normals.begin(), once.normals.end());
            m.albedo.insert(m.albedo.end(), once.albedo.begin(), once.albedo.end());
        }
        Result<Scene> scene = Scene::fromTriangles(m);
        QVERIFY(scene.ok());
        const SceneView s = scene->view();
        const std::vector<Ray> rays = randomRays(*scene, 400, 11);
        int hits = 0;
        for (const Ray &ray : rays) {
            const Hit ref = bruteClosest(s, ray);
            hits += ref.valid() ? 1 : 0;
            std::vector<Hit> wide;
            for (WideIsa isa : supportedIsas()) {
                const IsaScope scope{isa};
                wide.push_back(intersectClosestWide(scene->wideBvh(), s, ray));
                QCOMPARE(intersectAnyWide(scene->wideBvh(), s, ray), ref.valid());
                const Hit &w = wide.back();
                QCOMPARE(w.valid(), ref.valid());
                if (!ref.valid())
                    continue;
                QVERIFY(sameBits(Vec3(w.t, w.b1, w.b2), Vec3(ref.t, ref.b1, ref.b2)));
                QCOMPARE(s.primIds[w.prim] % unique, s.primIds[ref.prim] % unique);
            }
            for (const Hit &w : wide)
                QCOMPARE(w.prim, wide.front().prim);
        }
        QVERIFY2(hits > 150, qPrintable(QStringLiteral("only %1 rays hit").arg(hits)));
    }

    void structureIsConsistent()
    {
        const Scene scene = loadOrFail(QString::fromLatin1(kEngine));
        const auto &nodes = scene.nodes();
        const SceneView s = scene.view();
        std::vector<int> seen(scene.triangleCount(), 0);
        std::vector<std::pair<uint32_t, int>> stack{{0u, 0}};
        int maxDepth = 0;
        while (!stack.empty()) {
            const auto [index, depth] = stack.back();
            stack.pop_back();
            maxDepth = std::max(maxDepth, depth);
            const BvhNode &n = nodes[index];
            if (n.count > 0) {
                for (uint32_t i = n.first; i < n.first + n.count; ++i) {
                    ++seen[i];
                    for (int k = 0; k < 3; ++k)
                        for (int a = 0; a < 3; ++a) {
                            QVERIFY(s.positions[3 * i + k][a] >= n.lo[a]);
                            QVERIFY(s.positions[3 * i + k][a] <= n.hi[a]);
                        }
                }
                continue;
            }
            QVERIFY(n.first + 1 < nodes.size());
            for (uint32_t c = n.first; c <= n.first + 1; ++c) {
                for (int a = 0; a < 3; ++a) {
                    QVERIFY(nodes[c].lo[a] >= n.lo[a]);
                    QVERIFY(nodes[c].hi[a] <= n.hi[a]);
                }
                stack.push_back({c, depth + 1});
            }
        }
        for (int c : seen)
            QCOMPARE(c, 1);
        QVERIFY(maxDepth < kTraversalStack);
    }

    void sameTreeOnAnyThreadCount()
    {
        const Scene scene = loadOrFail(QString::fromLatin1(kEngine));
        const std::vector<uint32_t> reference = scene.primIds();
        for (int threads : {1, 3}) {
            Result<Scene> again = Scene::fromTriangles(scene.mesh(), threads);
            QVERIFY(again.ok());
            // primIds are relative to the input, which was already in BVH order.
            const auto &ids = again->primIds();
            for (size_t i = 0; i < ids.size(); ++i)
                QCOMPARE(ids[i], uint32_t(i));
            QCOMPARE(again->nodes().size(), scene.nodes().size());
        }
        QCOMPARE(reference.size(), scene.triangleCount());
    }

    void parallelBuildIsTheSerialTree()
    {
        // The engine split to 441k triangles, in file order: subtrees above the builder's
        // threshold go to other threads at several levels. Every thread count must give the
        // serial build's tree (boxes to the bit, leaves with the same ids in the same order),
        // run after run.
        const Scene scene = loadOrFail(QString::fromLatin1(kEngine));
        const std::vector<Vec3> positions = fileOrderPositions(scene, 1);
        const size_t n = positions.size() / 3;
        BvhBuildOptions serial;
        serial.threads = 1;
        const Bvh reference = buildBvh(positions.data(), n, serial);
        const std::vector<uint32_t> tree = canonicalTree(reference);
        QVERIFY(reference.nodes.size() > 2 * n / 16);
        for (int threads : {1, 2, 3, 8}) {
            for (int run = 0; run < 2; ++run) {
                BvhBuildOptions options;
                options.threads = threads;
                const Bvh bvh = buildBvh(positions.data(), n, options);
                QCOMPARE(bvh.nodes.size(), reference.nodes.size());
                QVERIFY2(canonicalTree(bvh) == tree,
                         qPrintable(QStringLiteral("%1 threads, run %2").arg(threads).arg(run)));
                if (threads == 1) // one thread numbers its nodes the same way every time
                    QVERIFY(std::memcmp(bvh.nodes.data(), reference.nodes.data(),
                                        bvh.nodes.size() * sizeof(BvhNode)) == 0);
            }
        }
    }

    void parallelAndSerialScenesHitAlike()
    {
        // Scenes built on one and on three threads from the same unsorted triangles: the same
        // wide BVH, valid (the brute-force check), the same closest hit for every ray.
        const Scene engine = loadOrFail(QString::fromLatin1(kEngine));
        const std::vector<Vec3> positions = fileOrderPositions(engine, 0);
        std::vector<Scene> scenes;
        for (int threads : {1, 3}) {
            TriangleMesh mesh;
            mesh.positions = positions;
            Result<Scene> s = Scene::fromTriangles(std::move(mesh), threads);
            QVERIFY(s.ok());
            scenes.push_back(std::move(*s));
        }
        // The wide BVH (collapsed depth first) is the same bytes, whatever the binary nodes'
        // numbering.
        const WideBvh &wide1 = scenes[0].wideBvh(), &wide3 = scenes[1].wideBvh();
        QCOMPARE(wide3.nodes.size(), wide1.nodes.size());
        QCOMPARE(wide3.packets.size(), wide1.packets.size());
        QVERIFY(std::memcmp(wide3.nodes.data(), wide1.nodes.data(),
                            wide1.nodes.size() * sizeof(WideNode)) == 0);
        QVERIFY(std::memcmp(wide3.packets.data(), wide1.packets.data(),
                            wide1.packets.size() * sizeof(TrianglePacket)) == 0);
        const SceneView serial = scenes[0].view(), parallel = scenes[1].view();
        int hits = 0;
        for (const Ray &ray : randomRays(scenes[0], 400, 77)) {
            const Hit a = intersectClosestWide(scenes[0].wideBvh(), serial, ray);
            const Hit b = intersectClosestWide(scenes[1].wideBvh(), parallel, ray);
            const Hit brute = bruteClosest(serial, ray);
            QCOMPARE(a.valid(), brute.valid());
            QCOMPARE(b.valid(), a.valid());
            if (!a.valid())
                continue;
            ++hits;
            QCOMPARE(a.t, brute.t);
            QCOMPARE(b.t, a.t);
            QCOMPARE(parallel.primIds[b.prim], serial.primIds[a.prim]);
        }
        QVERIFY2(hits > 150, qPrintable(QStringLiteral("only %1 rays hit").arg(hits)));
    }

    void watertightIcosphere()
    {
        const test::IndexedMesh mesh = test::icosphere(4, 3.f);
        Result<Scene> scene = Scene::fromTriangles(mesh.toTriangles());
        QVERIFY(scene.ok());
        const SceneView s = scene->view();
        int rays = 0;
        // From inside the closed surface every ray must hit, aimed at vertices and at edge
        // midpoints (exactly where two or more triangles meet), from the centre and off-centre.
        for (const Vec3 origin : {Vec3(0.f), Vec3(0.3f, -0.2f, 0.1f), Vec3(-1.1f, 0.7f, 0.4f)}) {
            for (const auto &f : mesh.faces) {
                for (int k = 0; k < 3; ++k) {
                    const Vec3 a = mesh.vertices[f[k]];
                    const Vec3 b = mesh.vertices[f[(k + 1) % 3]];
                    for (const Vec3 target : {a, (a + b) * 0.5f, a * 0.25f + b * 0.75f}) {
                        Ray r;
                        r.origin = origin;
                        r.dir = normalize(target - origin);
                        ++rays;
                        if (!intersectClosest(s, r).valid() || !intersectAny(s, r))
                            QFAIL(qPrintable(QStringLiteral("ray from (%1,%2,%3) slipped through")
                                                 .arg(origin.x)
                                                 .arg(origin.y)
                                                 .arg(origin.z)));
                        // From outside through the same point, towards the inside: must hit too.
                        Ray in;
                        in.origin = target + (target - origin) * 2.f;
                        in.dir = normalize(origin - in.origin);
                        if (!intersectClosest(s, in).valid())
                            QFAIL("ray from outside slipped through");
                        for (WideIsa isa : supportedIsas()) {
                            const IsaScope scope{isa};
                            if (!intersectClosestWide(scene->wideBvh(), s, r).valid() ||
                                !intersectAnyWide(scene->wideBvh(), s, r) ||
                                !intersectClosestWide(scene->wideBvh(), s, in).valid())
                                QFAIL(qPrintable(QStringLiteral("wide traversal (isa %1): a ray "
                                                                "slipped through")
                                                     .arg(int(isa))));
                        }
                    }
                }
            }
        }
        QVERIFY(rays > 10000);
    }

    void watertightCubeCorners()
    {
        // Cube.off: 8 shared corners and 12 edges that axis-aligned rays graze exactly.
        const Scene scene = loadOrFail(QString::fromLatin1(kCube));
        const SceneView s = scene.view();
        const Aabb b = scene.bounds();
        const Vec3 c = b.center();
        std::mt19937 g(3);
        for (int i = 0; i < 8; ++i) {
            const Vec3 corner((i & 1) ? b.hi.x : b.lo.x, (i & 2) ? b.hi.y : b.lo.y,
                              (i & 4) ? b.hi.z : b.lo.z);
            for (int j = 0; j < 200; ++j) {
                Ray r;
                r.origin = c + randomUnit(g) * (0.2f * length(b.extent()) * 0.3f);
                r.dir = normalize(corner - r.origin);
                QVERIFY(intersectClosest(s, r).valid());
                for (WideIsa isa : supportedIsas()) {
                    const IsaScope scope{isa};
                    QVERIFY(intersectClosestWide(scene.wideBvh(), s, r).valid());
                }
            }
        }
    }

    void cleanupOfBigMeshes()
    {
        // >= 64k triangles: the cleanup runs in parallel ranges while copying into BVH order.
        // Bad triangles spread over the mesh (NaN/infinite corners, zero area), bad normals and
        // colours: the scene must hold exactly the good triangles, cleaned, on any thread count.
        const test::IndexedMesh sphere = test::icosphere(6, 2.f);
        TriangleMesh m = sphere.toTriangles();
        const size_t total = m.triangleCount();
        QVERIFY(total >= 65536);
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const float inf = std::numeric_limits<float>::infinity();
        std::vector<bool> bad(total, false);
        for (size_t t = 5; t < total; t += 997) {
            bad[t] = true;
            switch (t % 3) {
            case 0:
                m.positions[3 * t + 1].x = nan;
                break;
            case 1:
                m.positions[3 * t + 2].z = -inf;
                break;
            default:
                m.positions[3 * t + 2] = m.positions[3 * t];
                break; // zero area
            }
        }
        for (size_t t = 11; t < total; t += 313) {
            m.normals[3 * t] = Vec3(nan, 0.f, 0.f);          // -> face normal
            m.albedo[3 * t + 1] = Vec3(2.f, -1.f, 0.5f);     // -> clamped
            m.normals[3 * t + 2] = m.normals[3 * t + 2] * 3; // -> normalized
        }
        std::vector<uint32_t> goodIndex; // usable index -> input triangle
        for (size_t t = 0; t < total; ++t)
            if (!bad[t])
                goodIndex.push_back(uint32_t(t));
        std::vector<Vec3> reference[3];
        for (int threads : {1, 2, 3}) {
            Result<Scene> scene = Scene::fromTriangles(m, threads);
            QVERIFY(scene.ok());
            QCOMPARE(scene->triangleCount(), goodIndex.size());
            QCOMPARE(scene->stats().droppedTriangles, total - goodIndex.size());
            const TriangleMesh &out = scene->mesh();
            const auto &ids = scene->primIds();
            std::vector<int> seen(total, 0);
            for (size_t slot = 0; slot < ids.size(); ++slot) {
                QVERIFY(ids[slot] < goodIndex.size());
                const size_t t = goodIndex[ids[slot]];
                ++seen[t];
                const Vec3 *v = m.positions.data() + 3 * t;
                const Vec3 face = normalize(cross(v[1] - v[0], v[2] - v[0]));
                for (int k = 0; k < 3; ++k) {
                    const size_t o = 3 * slot + size_t(k), i = 3 * t + size_t(k);
                    QVERIFY(sameBits(out.positions[o], v[k]));
                    const Vec3 n = m.normals[i];
                    QVERIFY(sameBits(out.normals[o], isFinite(n) ? normalize(n) : face));
                    QVERIFY(
                        sameBits(out.albedo[o], vmin(vmax(m.albedo[i], Vec3(0.f)), Vec3(0.98f))));
                }
                QCOMPARE(out.materialIds[slot], 0u);
            }
            for (size_t t = 0; t < total; ++t)
                QCOMPARE(seen[t], bad[t] ? 0 : 1);
            Aabb box; // the scene bounds: exactly those of the triangles kept
            for (const Vec3 &p : out.positions)
                box.grow(p);
            QVERIFY(sameBits(scene->bounds().lo, box.lo));
            QVERIFY(sameBits(scene->bounds().hi, box.hi));
            reference[threads - 1] = out.positions;
        }
        // The same tree (hence the same slot order) whatever the thread count.
        for (int threads : {2, 3}) {
            QCOMPARE(reference[threads - 1].size(), reference[0].size());
            for (size_t i = 0; i < reference[0].size(); ++i)
                QVERIFY(sameBits(reference[threads - 1][i], reference[0][i]));
        }
    }

    void degenerateAndEmpty()
    {
        // Zero-area, NaN and infinite triangles never reach the BVH; no triangle left is an error.
        TriangleMesh m;
        const float nan = std::numeric_limits<float>::quiet_NaN();
        const float inf = std::numeric_limits<float>::infinity();
        for (const Vec3 p : {Vec3(nan, 0, 0), Vec3(inf, 0, 0), Vec3(1, 1, 1)}) {
            m.positions.push_back(p);
            m.positions.push_back(Vec3(1, 1, 1));
            m.positions.push_back(Vec3(1, 1, 1));
        }
        Result<Scene> none = Scene::fromTriangles(m);
        QVERIFY(!none.ok());
        QCOMPARE(none.error().code, QStringLiteral("bad_model"));
        m.positions.push_back(Vec3(0, 0, 0));
        m.positions.push_back(Vec3(1, 0, 0));
        m.positions.push_back(Vec3(0, 1, 0));
        Result<Scene> one = Scene::fromTriangles(m);
        QVERIFY(one.ok());
        QCOMPARE(one->triangleCount(), size_t(1));
        QCOMPARE(one->stats().droppedTriangles, size_t(3));
        Ray r;
        r.origin = Vec3(0.2f, 0.2f, 1.f);
        r.dir = Vec3(0, 0, -1);
        const Hit h = intersectClosest(one->view(), r);
        QVERIFY(h.valid());
        QCOMPARE(h.t, 1.f);
        const Hit w = intersectClosestWide(one->wideBvh(), one->view(), r); // root is a leaf
        QVERIFY(w.valid());
        QCOMPARE(w.t, 1.f);
    }
};

QTEST_GUILESS_MAIN(TestBvh)
#include "tst_bvh.moc"
