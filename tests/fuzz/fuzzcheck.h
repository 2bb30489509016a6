#pragma once

// What every fuzz target shares: a failed invariant is a crash that names itself, so that
// libFuzzer keeps the input and a later run reproduces it.

#include <QByteArray>
#include <QString>

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                                \
    do {                                                                                           \
        if (!(condition))                                                                          \
            farm::fuzz::fail(#condition, QString(what), __FILE__, __LINE__);                       \
    } while (false)

namespace farm::fuzz {

[[noreturn]] inline void fail(const char *condition, const QString &what, const char *file,
                              int line)
{
    std::fprintf(stderr, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== %s\n", file, line,
                 condition, what.toUtf8().constData());
    std::abort();
}

inline QByteArray bytes(const uint8_t *data, size_t size)
{
    return QByteArray(reinterpret_cast<const char *>(data), qsizetype(size));
}

} // namespace farm::fuzz
