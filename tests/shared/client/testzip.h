#pragma once

// A small .zip writer for tests (stored or deflated entries, optionally a symlink entry), so the
// tests need no zip tool on the machine.

#include <QByteArray>
#include <QList>
#include <QString>
#include <QtEndian>

#include <array>

namespace farm::testing {

struct ZipEntry
{
    QString name;
    QByteArray data;
    bool deflate = false;
    bool symlink = false; // Unix mode 0120777: the data is the link's target
};

inline quint32 crc32(const QByteArray &data)
{
    static const auto table = [] {
        std::array<quint32, 256> t{};
        for (quint32 i = 0; i < 256; ++i) {
            quint32 c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    quint32 c = 0xffffffffu;
    for (const char b : data)
        c = table[(c ^ quint8(b)) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

inline QByteArray makeZip(const QList<ZipEntry> &entries)
{
    auto u16 = [](QByteArray &out, quint16 v) {
        const quint16 le = qToLittleEndian(v);
        out.append(reinterpret_cast<const char *>(&le), 2);
    };
    auto u32 = [](QByteArray &out, quint32 v) {
        const quint32 le = qToLittleEndian(v);
        out.append(reinterpret_cast<const char *>(&le), 4);
    };
    QByteArray zip, central;
    for (const ZipEntry &e : entries) {
        const QByteArray name = e.name.toUtf8();
        QByteArray body = e.data;
        if (e.deflate) // qCompress: 4-byte length, 2-byte zlib header, raw deflate, adler32
            body = qCompress(e.data, 9).mid(6).chopped(4);
        const quint32 crc = crc32(e.data);
        const quint32 offset = quint32(zip.size());
        u32(zip, 0x04034b50);
        u16(zip, 20);
        u16(zip, 0x800);
        u16(zip, e.deflate ? 8 : 0);
        u16(zip, 0);
        u16(zip, 0x21);
        u32(zip, crc);
        u32(zip, quint32(body.size()));
        u32(zip, quint32(e.data.size()));
        u16(zip, quint16(name.size()));
        u16(zip, 0);
        zip += name + body;

        u32(central, 0x02014b50);
        u16(central, (3 << 8) | 20); // made by Unix, so the mode in the attributes counts
        u16(central, 20);
        u16(central, 0x800);
        u16(central, e.deflate ? 8 : 0);
        u16(central, 0);
        u16(central, 0x21);
        u32(central, crc);
        u32(central, quint32(body.size()));
        u32(central, quint32(e.data.size()));
        u16(central, quint16(name.size()));
        u16(central, 0);
        u16(central, 0);
        u16(central, 0);
        u16(central, 0);
        u32(central, quint32(e.symlink ? 0120777 : 0100644) << 16);
        u32(central, offset);
        central += name;
    }
    const quint32 centralOffset = quint32(zip.size());
    zip += central;
    u32(zip, 0x06054b50);
    u16(zip, 0);
    u16(zip, 0);
    u16(zip, quint16(entries.size()));
    u16(zip, quint16(entries.size()));
    u32(zip, quint32(central.size()));
    u32(zip, centralOffset);
    u16(zip, 0);
    return zip;
}

} // namespace farm::testing
