// Access token prompt: a farm that does not trust this browser's address answers 401; the user
// pastes a token (farm-server --token), kept in localStorage and sent with every request.

import {getToken, setToken} from './api.js';
import {h, setChildren} from './dom.js';

export function installTokenPrompt(dialog) {
    const input = h('input', {type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false'});
    const message = h('p', {class: 'muted'});
    const form = h('form', {class: 'submit-form', method: 'dialog', onsubmit: (e) => {
        e.preventDefault();
        setToken(input.value.trim());
        location.reload(); // Simplest way to refetch every view and reopen the stream with it.
    }},
        h('header', {class: 'dialog-head'}, h('h2', {id: 'token-title'}, 'Access token needed')),
        message,
        h('label', {class: 'field'}, h('span', {class: 'field-label'}, 'API token'), input),
        h('footer', {class: 'dialog-foot'},
          h('button', {type: 'button', class: 'btn btn-ghost', onclick: () => {
              setToken('');
              dialog.close();
          }}, getToken() ? 'Forget token' : 'Not now'),
          h('span', {class: 'spacer'}),
          h('button', {type: 'submit', class: 'btn btn-primary'}, 'Save and reload')));
    setChildren(dialog, form);
    let shown = false;
    window.addEventListener('farmhand:unauthorized', (e) => {
        if (shown || dialog.open) return; // One prompt per page load, not one per failed request.
        shown = true;
        message.textContent = `${e.detail.message} Paste the token the farm admin gave you.`;
        input.value = getToken();
        dialog.showModal();
        input.focus();
    });
}
