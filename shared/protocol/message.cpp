#include "protocol/message.h"

#include "util/json.h"

#include <QJsonDocument>
#include <QJsonParseError>

namespace farm {

QByteArray Envelope::toJson() const
{
    QJsonObject o{{"type", type}, {"seq", seq}, {"data", data}};
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

Result<Envelope> Envelope::parse(const QByteArray &text)
{
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &err);
    if (err.error != QJsonParseError::NoError)
        return makeError("invalid_json", "message is not valid JSON: " + err.errorString());
    if (!doc.isObject())
        return makeError("invalid_message", "message must be a JSON object");
    const QJsonObject o = doc.object();
    if (auto strings = json::checkStrings(o, text); !strings)
        return strings.error();
    if (!o.value("type").isString() || o.value("type").toString().isEmpty())
        return makeError("invalid_message", "message needs a string 'type'");
    Envelope e;
    e.type = o.value("type").toString();
    const QJsonValue seq = o.value("seq");
    if (!seq.isUndefined() && !seq.isNull()) {
        if (!seq.isDouble())
            return makeError("invalid_message", "'seq' must be a number");
        e.seq = seq.toInteger();
    }
    const QJsonValue data = o.value("data");
    if (!data.isUndefined() && !data.isNull()) {
        if (!data.isObject())
            return makeError("invalid_message", "'data' must be an object");
        e.data = data.toObject();
    }
    return e;
}

QByteArray EnvelopeWriter::write(const QString &type, const QJsonObject &data)
{
    return Envelope{type, ++m_seq, data}.toJson();
}

} // namespace farm
