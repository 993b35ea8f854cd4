/// The default notification templates, the same text as `Jobs/templates/*.mustache` (a test
/// keeps them equal). An organisation copies that folder, edits it and names it in
/// `notify.templates`.
enum DraftTemplates {
    static let defaults: [String: String] = [
        "user.subject": #"""
            Your sign-in phone number has been updated
            """#,
        "user.txt": #"""
            Hello {{{displayName}}},

            The {{{phoneLabel}}} number you use for multi-factor authentication (MFA) was changed by your IT department on {{{changedAt}}}:

                before: {{{oldNumber}}}
                now:    {{{newNumber}}}

            MFA is still on for your account; only the number changed.{{#smsSignIn}} You also sign in by text message: your sign-in number changed with it.{{/smsSignIn}}{{#smsSignInNotMoved}} You also sign in by text message, but another account already signs in with this number, so text-message sign-in did not move to it; contact the helpdesk before you rely on it.{{/smsSignInNotMoved}}

            Please check that it works: sign out, sign in again, and approve the sign-in with a call or text to your new number.

            If you did not expect this change, or the number is not yours, contact the helpdesk at once: {{{helpdesk}}}.

            {{{organization}}}
            """#,
        "user.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {{displayName}},</p>
            <p>The {{phoneLabel}} number you use for multi-factor authentication (MFA) was changed by your IT department on {{changedAt}}:</p>
            <table>
            <tr><td>before</td><td><code>{{oldNumber}}</code></td></tr>
            <tr><td>now</td><td><code>{{newNumber}}</code></td></tr>
            </table>
            <p>MFA is still on for your account; only the number changed.{{#smsSignIn}} You also sign in by text message: your sign-in number changed with it.{{/smsSignIn}}{{#smsSignInNotMoved}} You also sign in by text message, but another account already signs in with this number, so text-message sign-in did not move to it; contact the helpdesk before you rely on it.{{/smsSignInNotMoved}}</p>
            <p>Please check that it works: sign out, sign in again, and approve the sign-in with a call or text to your new number.</p>
            <p>If you did not expect this change, or the number is not yours, contact the helpdesk at once: {{helpdesk}}.</p>
            <p>{{organization}}</p>
            </body></html>
            """#,
        "helpdesk.subject": #"""
            PhoneShift: {{{jobName}}} run {{{runId}}} — {{{changed}}} numbers changed, {{{failed}}} failed
            """#,
        "helpdesk.txt": #"""
            PhoneShift job {{{jobName}}}, run {{{runId}}} ({{{runStatus}}}, {{{runStarted}}} – {{{runFinished}}})

            Changed: {{{changed}}}   Failed: {{{failed}}}   Needing attention: {{{attention}}}
            Drafts written for {{{drafted}}} users; {{{noMailCount}}} users have no usable e-mail address and must be told another way.

            Failed ({{{failed}}}):
            {{#failures}}
              - {{{user}}}: {{{error}}}
            {{/failures}}

            SMS sign-in moved with the new number ({{{smsCount}}}):
            {{#sms}}
              - {{{user}}}
            {{/sms}}

            SMS sign-in did not follow: another user signs in by SMS with the new number ({{{smsNotUniqueCount}}}):
            {{#smsNotUnique}}
              - {{{user}}}
            {{/smsNotUnique}}

            No MFA method besides phones ({{{noBackupCount}}}):
            {{#noBackup}}
              - {{{user}}}
            {{/noBackup}}

            No usable e-mail address ({{{noMailCount}}}):
            {{#noMail}}
              - {{{user}}}
            {{/noMail}}
            """#,
        "helpdesk.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <h2>PhoneShift job {{jobName}}, run {{runId}}</h2>
            <p>{{runStatus}}, {{runStarted}} – {{runFinished}}</p>
            <p>Changed: <b>{{changed}}</b> · Failed: <b>{{failed}}</b> · Needing attention: <b>{{attention}}</b> · Drafts: {{drafted}} · No usable e-mail: {{noMailCount}}</p>
            <h3>Failed</h3><ul>{{#failures}}<li>{{user}}: {{error}}</li>{{/failures}}</ul>
            <h3>SMS sign-in moved with the new number</h3><ul>{{#sms}}<li>{{user}}</li>{{/sms}}</ul>
            <h3>SMS sign-in did not follow: another user signs in by SMS with the new number</h3><ul>{{#smsNotUnique}}<li>{{user}}</li>{{/smsNotUnique}}</ul>
            <h3>No MFA method besides phones</h3><ul>{{#noBackup}}<li>{{user}}</li>{{/noBackup}}</ul>
            <h3>No usable e-mail address</h3><ul>{{#noMail}}<li>{{user}}</li>{{/noMail}}</ul>
            </body></html>
            """#,
    ]

    static let names = ["user.subject", "user.txt", "user.html", "helpdesk.subject", "helpdesk.txt", "helpdesk.html"]
}
