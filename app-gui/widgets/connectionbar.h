#pragma once

#include <QUrl>
#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;

namespace farm::gui {

/// Server URL + token, a Connect button and a status light.
class ConnectionBar : public QWidget
{
    Q_OBJECT
public:
    enum class State { Disconnected, Connecting, Connected, Degraded, Failed };

    explicit ConnectionBar(QWidget *parent = nullptr);

    void setUrl(const QString &url);
    QString url() const;
    void setToken(const QString &token);
    QString token() const;
    void setState(State state, const QString &message);
    State state() const { return m_state; }
    QString message() const;

signals:
    /// The user asked to connect; the URL was already checked.
    void connectRequested(const QUrl &url, const QString &token);

private:
    void requestConnect();

    QLineEdit *m_url;
    QLineEdit *m_token;
    QPushButton *m_connect;
    QLabel *m_light;
    QLabel *m_message;
    State m_state = State::Disconnected;
};

} // namespace farm::gui
