#include "widgets/connectionbar.h"

#include "client/apiclient.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace farm::gui {

ConnectionBar::ConnectionBar(QWidget *parent)
    : QWidget(parent)
    , m_url(new QLineEdit(this))
    , m_token(new QLineEdit(this))
    , m_connect(new QPushButton(tr("Connect"), this))
    , m_light(new QLabel(this))
    , m_message(new QLabel(this))
{
    m_url->setObjectName("serverUrl");
    m_url->setPlaceholderText("http://127.0.0.1:8420");
    m_url->setMinimumWidth(200);
    m_token->setObjectName("token");
    m_token->setPlaceholderText(tr("token (optional)"));
    m_token->setEchoMode(QLineEdit::Password);
    m_token->setMaximumWidth(180);
    m_connect->setObjectName("connect");
    m_connect->setDefault(true);
    m_light->setFixedSize(12, 12);
    m_message->setObjectName("connectionMessage");
    // A long message must not widen the window (800 px screens): it is cut, the tooltip has it.
    m_message->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_message->setMinimumWidth(80);

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 8, 10, 8);
    layout->setSpacing(8);
    layout->addWidget(new QLabel(tr("Server"), this));
    layout->addWidget(m_url, 3);
    layout->addWidget(m_token, 1);
    layout->addWidget(m_connect);
    layout->addSpacing(8);
    layout->addWidget(m_light);
    layout->addWidget(m_message, 2);

    connect(m_connect, &QPushButton::clicked, this, &ConnectionBar::requestConnect);
    connect(m_url, &QLineEdit::returnPressed, this, &ConnectionBar::requestConnect);
    connect(m_token, &QLineEdit::returnPressed, this, &ConnectionBar::requestConnect);
    setState(State::Disconnected, tr("Not connected"));
}

void ConnectionBar::setUrl(const QString &url)
{
    m_url->setText(url);
}

QString ConnectionBar::url() const
{
    return m_url->text();
}

void ConnectionBar::setToken(const QString &token)
{
    m_token->setText(token);
}

QString ConnectionBar::token() const
{
    return m_token->text();
}

QString ConnectionBar::message() const
{
    return m_message->text();
}

void ConnectionBar::setState(State state, const QString &message)
{
    static const QHash<State, const char *> colors{{State::Disconnected, "#9aa0a6"},
                                                   {State::Connecting, "#f2c94c"},
                                                   {State::Connected, "#27ae60"},
                                                   {State::Degraded, "#f2994a"},
                                                   {State::Failed, "#d64545"}};
    m_state = state;
    m_light->setStyleSheet(
        QString("background: %1; border-radius: 6px;").arg(QLatin1String(colors.value(state))));
    m_light->setToolTip(message);
    m_message->setText(message);
    m_message->setToolTip(message);
    m_connect->setText(state == State::Connected || state == State::Degraded ? tr("Reconnect")
                                                                             : tr("Connect"));
}

void ConnectionBar::requestConnect()
{
    const auto url = client::ApiClient::parseServerUrl(
        m_url->text().isEmpty() ? m_url->placeholderText() : m_url->text());
    if (!url)
        return setState(State::Failed, url.error().message);
    emit connectRequested(*url, m_token->text());
}

} // namespace farm::gui
