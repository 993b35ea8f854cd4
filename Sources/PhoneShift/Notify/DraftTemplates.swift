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
        "readiness-user.subject": #"""
            Action needed: register a passkey before {{{retirementDate}}}
            """#,
        "readiness-user.txt": #"""
            Hello {{{displayName}}},

            You confirm your sign-ins (multi-factor authentication, MFA) with a code by text message or a phone call to your {{{phoneLabels}}}. Microsoft stops sending these codes on {{{retirementDate}}}.

            From then on, you will be asked to register a passkey when you sign in, and cannot go on until you have one. Please register one now, while your phone still works for sign-in:

              1. Open {{{securityInfoUrl}}} and sign in.
              2. Choose "Add sign-in method", then "Passkey" (on your phone, with the Microsoft Authenticator app, or a security key your IT department gave you).
              3. Follow the steps, then sign out and sign in again with the passkey.

            Your phone number stays on your account for now; nothing else changes.

            If you need help, or did not expect this message, contact the helpdesk: {{{helpdesk}}}.

            {{{organization}}}
            """#,
        "readiness-user.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {{displayName}},</p>
            <p>You confirm your sign-ins (multi-factor authentication, MFA) with a code by text message or a phone call to your {{phoneLabels}}. Microsoft stops sending these codes on <b>{{retirementDate}}</b>.</p>
            <p>From then on, you will be asked to register a passkey when you sign in, and cannot go on until you have one. Please register one now, while your phone still works for sign-in:</p>
            <ol>
            <li>Open <a href="{{securityInfoUrl}}">{{securityInfoUrl}}</a> and sign in.</li>
            <li>Choose "Add sign-in method", then "Passkey" (on your phone, with the Microsoft Authenticator app, or a security key your IT department gave you).</li>
            <li>Follow the steps, then sign out and sign in again with the passkey.</li>
            </ol>
            <p>Your phone number stays on your account for now; nothing else changes.</p>
            <p>If you need help, or did not expect this message, contact the helpdesk: {{helpdesk}}.</p>
            <p>{{organization}}</p>
            </body></html>
            """#,
        "readiness-helpdesk.subject": #"""
            PhoneShift readiness for {{{jobName}}}: {{{phoneOnly}}} users have only phones for MFA
            """#,
        "readiness-helpdesk.txt": #"""
            PhoneShift readiness for {{{jobName}}} ({{{generated}}}), before Microsoft stops SMS and voice codes on {{{retirementDate}}}

            Phishing-resistant: {{{phishingResistant}}}   App only: {{{app}}}   Phone-only: {{{phoneOnly}}}   No MFA method: {{{none}}}
            Drafts written for {{{drafted}}} phone-only users; {{{noMailCount}}} have no usable e-mail address and must be told another way.

            Phone-only admins ({{{adminCount}}}), to give a passkey first:
            {{#admins}}
              - {{{user}}}
            {{/admins}}

            Phone-only users with no usable e-mail address ({{{noMailCount}}}):
            {{#noMail}}
              - {{{user}}}
            {{/noMail}}
            """#,
        "readiness-helpdesk.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <h2>PhoneShift readiness for {{jobName}}</h2>
            <p>{{generated}} · Microsoft stops SMS and voice codes on <b>{{retirementDate}}</b></p>
            <p>Phishing-resistant: <b>{{phishingResistant}}</b> · App only: <b>{{app}}</b> · Phone-only: <b>{{phoneOnly}}</b> · No MFA method: <b>{{none}}</b> · Drafts: {{drafted}} · No usable e-mail: {{noMailCount}}</p>
            <h3>Phone-only admins (give them a passkey first)</h3><ul>{{#admins}}<li>{{user}}</li>{{/admins}}</ul>
            <h3>Phone-only users with no usable e-mail address</h3><ul>{{#noMail}}<li>{{user}}</li>{{/noMail}}</ul>
            </body></html>
            """#,
        "removed.subject": #"""
            Your {{{phoneLabel}}} number is no longer used for sign-in
            """#,
        "removed.txt": #"""
            Hello {{{displayName}}},

            Your IT department removed the {{{phoneLabel}}} number {{{oldNumber}}} from the methods you use for multi-factor authentication (MFA) on {{{changedAt}}}. Microsoft stops sending sign-in codes by text message and phone call on {{{retirementDate}}}, and you already sign in with a passkey or Windows Hello, which stays as it is.{{#smsSignIn}} You also signed in by text message with this number: that sign-in is gone with it.{{/smsSignIn}}

            Nothing else changes. You can see your sign-in methods at {{{securityInfoUrl}}}.

            If you did not expect this change, or cannot sign in, contact the helpdesk: {{{helpdesk}}}.

            {{{organization}}}
            """#,
        "removed.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {{displayName}},</p>
            <p>Your IT department removed the {{phoneLabel}} number <code>{{oldNumber}}</code> from the methods you use for multi-factor authentication (MFA) on {{changedAt}}. Microsoft stops sending sign-in codes by text message and phone call on <b>{{retirementDate}}</b>, and you already sign in with a passkey or Windows Hello, which stays as it is.{{#smsSignIn}} You also signed in by text message with this number: that sign-in is gone with it.{{/smsSignIn}}</p>
            <p>Nothing else changes. You can see your sign-in methods at <a href="{{securityInfoUrl}}">{{securityInfoUrl}}</a>.</p>
            <p>If you did not expect this change, or cannot sign in, contact the helpdesk: {{helpdesk}}.</p>
            <p>{{organization}}</p>
            </body></html>
            """#,
        "pass.subject": #"""
            Register a passkey: your helpdesk has a Temporary Access Pass for you
            """#,
        "pass.txt": #"""
            Hello {{{displayName}}},

            Microsoft stops sending sign-in codes by text message and phone call on {{{retirementDate}}}, and your phone is the only way you confirm sign-ins today. To move you to a passkey, your IT department has made a Temporary Access Pass for you: a one-time code that lets you sign in once and register a passkey.

            For your safety the pass is not in this message. Contact the helpdesk to receive it: {{{helpdesk}}}.

            Then:
              1. Open {{{securityInfoUrl}}} and sign in with the Temporary Access Pass.
              2. Choose "Add sign-in method", then "Passkey", and follow the steps.
              3. Sign out, and sign in again with the passkey.

            If you did not expect this message, contact the helpdesk.

            {{{organization}}}
            """#,
        "pass.html": #"""
            <!DOCTYPE html>
            <html><body style="font-family: sans-serif">
            <p>Hello {{displayName}},</p>
            <p>Microsoft stops sending sign-in codes by text message and phone call on <b>{{retirementDate}}</b>, and your phone is the only way you confirm sign-ins today. To move you to a passkey, your IT department has made a Temporary Access Pass for you: a one-time code that lets you sign in once and register a passkey.</p>
            <p>For your safety the pass is not in this message. Contact the helpdesk to receive it: {{helpdesk}}.</p>
            <ol>
            <li>Open <a href="{{securityInfoUrl}}">{{securityInfoUrl}}</a> and sign in with the Temporary Access Pass.</li>
            <li>Choose "Add sign-in method", then "Passkey", and follow the steps.</li>
            <li>Sign out, and sign in again with the passkey.</li>
            </ol>
            <p>If you did not expect this message, contact the helpdesk.</p>
            <p>{{organization}}</p>
            </body></html>
            """#,
    ]

    static let names = ["user.subject", "user.txt", "user.html", "helpdesk.subject", "helpdesk.txt", "helpdesk.html",
                        "readiness-user.subject", "readiness-user.txt", "readiness-user.html",
                        "readiness-helpdesk.subject", "readiness-helpdesk.txt", "readiness-helpdesk.html",
                        "removed.subject", "removed.txt", "removed.html", "pass.subject", "pass.txt", "pass.html"]
}
