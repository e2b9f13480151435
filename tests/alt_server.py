"""A second IntraScol server, for tests only: `INTERFACE.md` implemented otherwise than the sandbox.

The client must rely on the contract alone. This server keeps to every line of it
but takes the other road wherever the contract is silent or leaves a choice, so
that a test run against it catches any habit the client picked up from the sandbox:

- served under `/ecole/intrascol/`; pages `text/html; charset=iso-8859-1` (lower
  case), encoded as windows-1252 (an `Œ` typed in the school's database is the byte
  0x8C); characters outside that as numeric references, `&#321;ukasz`;
- every redirection is a full URL (`http://host:port/...`); an unknown session on
  an admin page gets the login page's full URL with a `retour=` parameter;
- the admin login's failure page shows the message and a link, no form; the
  users' side login form carries a `jeton` (of a session opened by showing the
  form) and refuses a post without it; it succeeds with `200` and the shares page
  itself (no redirection) and fails with a `302` back to `login.php?echec=1`;
- logins are `nomp` / `nomp2` (last name, first initial), not `prenom.nom`; the
  administrator is listed among the users, as an adult;
- no `jeton` on `admin/index.php`; other layouts, column orders, extra classes,
  named entities (`&Eacute;l&egrave;ve`) and markup inside cells and messages;
- `utilisateurs.php` lists users in a new random order at every page load, its
  `Suivante` link is relative (`?tri=hasard&page=N&...`);
- every page holds an empty `<div class="erreur">`, a placeholder for a script;
- messages carry newlines, indentation and markup (`<b>login</b>`), the refusal
  of an adult in a class is worded `Impossible : LOGIN n'est pas un élève.` and
  other items' refusals have their own wordings; an empty selection answers no
  message at all;
- class work folders are named after the class in capitals without accents, with ids like
  `rep-12`; files have ids like `doc-7`; an unreachable folder answers `403`;
  downloads are `application/octet-stream` with a `Content-Disposition`.
"""

from __future__ import annotations

import html
import itertools
import random
import re
import secrets
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BASE = "/ecole/intrascol/"
COOKIE = "PHPSESSID"
PER_PAGE = 50
VERSION = "0.1.6"
SCHOOL = "École élémentaire Louise Michel"
ADMIN_LOGIN = "direction"
ADMIN_PASSWORD = "Mot-de-passe-1"
COMMON = "Commun"
DOUBLE_LEVEL = "CE2-CM1 Écureuils"  # removed by the demo rentrée, its folder archived first
_REFERENCE = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")


def from_form(text: str) -> str:
    """What a PHP server stores: the text posted, its numeric references decoded (as displayed)."""
    return _REFERENCE.sub(
        lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[0] in "xX" else int(m.group(1))), text
    )


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _folder_name(class_name: str) -> str:
    """A class's folder on the file shares: its name in capitals, accents dropped."""
    decomposed = unicodedata.normalize("NFKD", class_name.upper())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l").replace("œ", "oe"))
    return re.sub(r"[^a-z]", "", decomposed.encode("ascii", "ignore").decode().lower())


@dataclass
class AltUser:
    login: str
    first_name: str
    last_name: str
    type: str  # "eleve" or "adulte"
    password: str
    class_id: int | None = None


@dataclass
class AltClass:
    id: int
    name: str
    responsible: str
    folder_id: str


@dataclass
class AltFile:
    id: str
    folder_id: str
    path: str
    data: bytes


@dataclass
class AltSession:
    admin: bool
    user: str | None
    jeton: str = field(default_factory=lambda: secrets.token_hex(8))


class AltState:
    """The school: users, classes, folders and files, with this server's own rules and words."""

    def __init__(self, seed: int = 3) -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.users: dict[str, AltUser] = {}
        self.classes: dict[int, AltClass] = {}
        self.folders: dict[str, str] = {"rep-1": COMMON}  # id -> name of a folder with no class
        self.files: dict[str, AltFile] = {}
        self._class_ids = itertools.count(41, 7)
        self._folder_ids = itertools.count(2)
        self._file_ids = itertools.count(500)
        self.users[ADMIN_LOGIN] = AltUser(ADMIN_LOGIN, "Direction", "École", "adulte", ADMIN_PASSWORD)

    # -- setup and inspection ------------------------------------------------------------

    def add_user(
        self, first_name: str, last_name: str, user_type: str = "eleve", class_name: str = ""
    ) -> AltUser:
        user, _ = self.create_user(first_name, last_name, user_type)
        assert user is not None
        if class_name:
            user.class_id = self.class_named(class_name).id
        return user

    def add_class(self, name: str, responsible: str) -> AltClass:
        ok, text = self.create_class(name, responsible)
        assert ok, text
        return self.class_named(name)

    def add_file(self, class_name: str, path: str, data: bytes) -> AltFile:
        folder_id = self.class_named(class_name).folder_id
        shared = AltFile(f"doc-{next(self._file_ids)}", folder_id, path, data)
        self.files[shared.id] = shared
        return shared

    def class_named(self, name: str) -> AltClass:
        return next(c for c in self.classes.values() if c.name.casefold() == name.casefold())

    def files_of(self, class_name: str) -> list[AltFile]:
        folder_id = self.class_named(class_name).folder_id
        return [f for f in self.files.values() if f.folder_id == folder_id]

    # -- rules ------------------------------------------------------------------------------

    def create_user(
        self, first_name: str, last_name: str, user_type: str
    ) -> tuple[AltUser | None, list[tuple[str, str]]]:
        first_name, last_name = " ".join(first_name.split()), " ".join(last_name.split())
        errors = []
        if not first_name:
            errors.append(("erreur", "Le prénom est vide."))
        if not last_name:
            errors.append(("erreur", "Le nom est vide."))
        if user_type not in ("eleve", "adulte"):
            errors.append(("erreur", "Le type d'utilisateur est inconnu."))
        if errors:
            return None, errors
        with self.lock:
            base = (_ascii(last_name)[:8] + _ascii(first_name)[:1]) or "compte"
            login = base
            number = 2
            while login in self.users:
                login, number = f"{base}{number}", number + 1
            if user_type == "eleve":
                password = (
                    f"{self.rng.choice(['abricot', 'cerise', 'prune'])}-{self.rng.randrange(100, 1000)}"
                )
            else:
                password = secrets.token_urlsafe(9)
            user = AltUser(login, first_name, last_name, user_type, password)
            self.users[login] = user
        return user, [("succes", "L'utilisateur a été créé.")]

    def _in_class_refusal(self, login: str) -> str | None:
        user = self.users.get(login)
        if user is None:
            return f"L'utilisateur {login} n'existe pas."
        if user.type != "eleve":
            return f"Impossible : {login} n'est pas un élève."
        return None

    def assign(self, login: str, class_id: str) -> tuple[str, str]:
        with self.lock:
            school_class = self.classes.get(int(class_id)) if class_id.isdigit() else None
            if school_class is None:
                return "erreur", "La classe de destination n'existe pas."
            refusal = self._in_class_refusal(login)
            if refusal:
                return "erreur", refusal
            self.users[login].class_id = school_class.id
            return "succes", f"L'utilisateur {login} a été affecté à la classe {school_class.name}."

    def transfer(self, logins: list[str], class_id: str) -> list[tuple[str, str]]:
        with self.lock:
            school_class = self.classes.get(int(class_id)) if class_id.isdigit() else None
            if school_class is None:
                return [("erreur", "La classe de destination n'existe pas.")]
            answers = []
            for login in logins:
                refusal = self._in_class_refusal(login)
                if refusal:
                    answers.append(("erreur", refusal))
                    continue
                self.users[login].class_id = school_class.id
                answers.append(
                    ("succes", f"L'utilisateur {login} a été transféré dans la classe {school_class.name}.")
                )
            return answers

    def delete_users(self, logins: list[str]) -> list[tuple[str, str]]:
        with self.lock:
            answers = []
            for login in logins:
                if login not in self.users:
                    answers.append(("erreur", f"L'utilisateur {login} n'existe pas."))
                elif login == ADMIN_LOGIN:
                    answers.append(("erreur", f"Le compte {login} de la direction ne se supprime pas."))
                elif led := [c.name for c in self.classes.values() if c.responsible == login]:
                    answers.append(
                        ("erreur", f"L'utilisateur {login} est responsable de la classe {led[0]}.")
                    )
                else:
                    del self.users[login]
                    answers.append(("succes", f"L'utilisateur {login} a été supprimé."))
            return answers

    def _class_refusal(self, name: str, responsible: str, except_id: int | None = None) -> str | None:
        if not name:
            return "Le nom de classe est vide."
        if any(c.name.casefold() == name.casefold() and c.id != except_id for c in self.classes.values()):
            return "Une classe porte déjà ce nom."
        teacher = self.users.get(responsible)
        if teacher is None or teacher.type != "adulte":
            return "L'enseignant responsable est inconnu."
        return None

    def create_class(self, name: str, responsible: str) -> tuple[bool, str]:
        name = " ".join(name.split())
        with self.lock:
            refusal = self._class_refusal(name, responsible)
            if refusal:
                return False, refusal
            class_id = next(self._class_ids)
            self.classes[class_id] = AltClass(class_id, name, responsible, f"rep-{next(self._folder_ids)}")
            return True, f"La classe {name} a été créée."

    def modify_class(self, class_id: int, name: str | None, responsible: str | None) -> tuple[bool, str]:
        with self.lock:
            current = self.classes.get(class_id)
            if current is None:
                return False, "Classe introuvable."
            new_name = current.name if name is None else " ".join(name.split())
            new_responsible = current.responsible if responsible is None else responsible
            refusal = self._class_refusal(new_name, new_responsible, except_id=class_id)
            if refusal:
                return False, refusal
            current.name, current.responsible = new_name, new_responsible
            return True, f"La classe {new_name} a été modifiée."

    def delete_classes(self, ids: list[str]) -> list[tuple[str, str]]:
        with self.lock:
            answers = []
            for raw in ids:
                current = self.classes.get(int(raw)) if raw.isdigit() else None
                if current is None:
                    answers.append(("erreur", f"Aucune classe n° {raw}."))
                elif any(f.folder_id == current.folder_id for f in self.files.values()):
                    answers.append(
                        (
                            "erreur",
                            f"La classe {current.name} ne peut pas être supprimée : "
                            "son dossier de travail n'est pas vide.",
                        )
                    )
                else:
                    for user in self.users.values():
                        if user.class_id == current.id:
                            user.class_id = None
                    del self.classes[current.id]
                    answers.append(("succes", f"La classe {current.name} a été supprimée."))
            return answers

    def folders_of(self, login: str) -> list[tuple[str, str]]:
        """(id, name) of the folders `login` reaches: its class's, named in capitals, then the others."""
        user = self.users[login]
        reached = [
            (c.folder_id, _folder_name(c.name))
            for c in self.classes.values()
            if c.id == user.class_id or c.responsible == login
        ]
        return reached + list(self.folders.items())

    def size_of(self, class_id: int) -> int:
        return sum(1 for u in self.users.values() if u.class_id == class_id)


# --- Pages -----------------------------------------------------------------------------------


def _page(title: str, body: str, *, menu: bool = True) -> str:
    nav = (
        '<div class="entete"><ul id="menu" class="nav">\n'
        '  <li><a href="index.php">Accueil</a></li>\n'
        '  <li><a href="classes.php">Liste des classes</a></li>\n'
        '  <li><a href="utilisateurs.php">Liste des utilisateurs</a></li>\n'
        '  <li><a href="ajout_classe.php">Cr&eacute;er une classe</a></li>\n'
        '  <li><a href="ajout_utilisateur.php">Ajouter un utilisateur</a></li>\n'
        '  <li><a href="logout.php">D&eacute;connexion</a></li>\n</ul></div>\n'
        if menu
        else ""
    )
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
        f'<title>{_esc(title)}</title></head>\n<body>\n{nav}<div id="contenu">\n'
        # A placeholder the page's script fills in: an empty `erreur` is no message.
        '<div class="erreur" id="erreur-js" style="display:none"></div>\n'
        f"{body}\n</div></body></html>"
    )


def _messages(answers: Iterable[tuple[str, str]]) -> str:
    """Messages as an old template prints them: newlines, indentation, the login in bold."""
    out = []
    for kind, text in answers:
        escaped = _esc(text)
        escaped = re.sub(r"^(L&#x27;utilisateur) (\S+) ", r"\1\n      <b>\2</b>\n      ", escaped)
        out.append(f'<div class="bloc">\n  <p class="{kind}">\n      {escaped}\n  </p>\n</div>')
    return "\n".join(out)


def _hidden(session: AltSession) -> str:
    return f'<input type="hidden" value="{session.jeton}" name="jeton" />'


_Handler = Callable[["AltServerApp", Request, AltSession, dict[str, list[str]]], Response]


class AltServerApp:
    def __init__(self, state: AltState, seed: int = 5) -> None:
        self.state = state
        self.sessions: dict[str, AltSession] = {}
        self.rng = random.Random(seed)
        self.requests = 0
        self.form_posts = 0  # POSTs of every form but the two login forms
        self.origin = ""  # "http://host:port", set once serving
        # Admin page -> how many of its next POSTs are applied, then answered `500`.
        self.lost_answers: dict[str, int] = {}

    # -- plumbing ---------------------------------------------------------------------------

    def full(self, path: str) -> str:
        return f"{self.origin}{BASE}{path}"

    def html(self, text: str, status: int = 200) -> Response:
        body = text.encode("cp1252", errors="xmlcharrefreplace")
        return Response(body, status=status, content_type="text/html; charset=iso-8859-1")

    def redirect(self, path: str) -> Response:
        return Response("", status=302, headers={"Location": self.full(path)})

    def __call__(self, environ: dict[str, object], start_response: Callable[..., object]) -> Iterable[bytes]:
        request = Request(environ)
        with self.state.lock:
            self.requests += 1
            response = self.dispatch(request)
        return response(environ, start_response)  # type: ignore[arg-type]

    def form(self, request: Request) -> dict[str, list[str]]:
        """The posted fields, decoded as PHP would (Latin-1 bytes, references kept then decoded)."""
        fields: dict[str, list[str]] = {}
        for name, value in parse_qsl(
            request.get_data(as_text=False).decode("ascii"), keep_blank_values=True, encoding="latin-1"
        ):
            fields.setdefault(name, []).append(from_form(value))
        return fields

    def dispatch(self, request: Request) -> Response:
        if not request.path.startswith(BASE):
            return Response("introuvable", status=404)
        page = request.path[len(BASE) :]
        session = self.sessions.get(request.cookies.get(COOKIE, ""))
        fields = self.form(request) if request.method == "POST" else {}
        if page == "admin/login.php":
            return self.admin_login(request, fields)
        if page == "login.php":
            return self.users_login(request, fields)
        if request.method == "POST":
            self.form_posts += 1
        if page.startswith("admin/"):
            if session is None or not session.admin:
                return self.redirect("admin/login.php?" + urlencode({"retour": page}))
            if request.method == "POST" and fields.get("jeton") != [session.jeton]:
                return self.html(_page("Erreur", _messages([("erreur", "Jeton de formulaire invalide.")])))
            handler = self.admin_pages.get(page)
            if handler is None:
                return Response("introuvable", status=404)
            response = handler(self, request, session, fields)
            if request.method == "POST" and self.lost_answers.get(page, 0) > 0:
                self.lost_answers[page] -= 1
                return Response("Internal Server Error", status=500)  # applied, answer lost
            return response
        if page in ("partages.php", "telecharger.php"):
            if session is None or session.user is None:
                return self.redirect("login.php")
            if request.method == "POST" and fields.get("jeton") != [session.jeton]:
                return self.html(
                    _page("Erreur", _messages([("erreur", "Jeton de formulaire invalide.")]), menu=False)
                )
            if page == "partages.php":
                return self.shares(request, session, fields)
            return self.download(request, session)
        return Response("introuvable", status=404)

    def new_session(self, response: Response, admin: bool, user: str | None) -> None:
        sid = secrets.token_hex(12)
        self.sessions[sid] = AltSession(admin, user)
        response.set_cookie(COOKIE, sid, path="/ecole/")

    # -- logins -------------------------------------------------------------------------------

    def admin_login(self, request: Request, fields: dict[str, list[str]]) -> Response:
        if request.method == "POST":
            if fields.get("login") == [ADMIN_LOGIN] and fields.get("motdepasse") == [ADMIN_PASSWORD]:
                response = self.redirect("admin/index.php")
                self.new_session(response, admin=True, user=None)
                return response
            body = (
                '<p class="erreur">Identifiant ou mot de passe incorrect.</p>\n'
                '<p><a href="login.php">R&eacute;essayer</a></p>'
            )
            return self.html(_page("Connexion", body, menu=False))
        form = (
            '<form method="post" action="login.php" id="connexion"><table>'
            '<tr><td>Identifiant</td><td><input name="login"></td></tr>'
            '<tr><td>Mot de passe</td><td><input type="password" name="motdepasse"></td></tr>'
            '</table><input type="submit" value="OK"></form>'
        )
        return self.html(_page("Administration", form, menu=False))

    def users_login(self, request: Request, fields: dict[str, list[str]]) -> Response:
        # This side's login form carries a `jeton` too, of a session opened by showing the form.
        session = self.sessions.get(request.cookies.get(COOKIE, ""))
        if request.method == "POST":
            if session is None or fields.get("jeton") != [session.jeton]:
                return self.html(
                    _page("Erreur", _messages([("erreur", "Jeton de formulaire invalide.")]), menu=False)
                )
            login, password = (fields.get("login") or [""])[0], (fields.get("motdepasse") or [""])[0]
            user = self.state.users.get(login)
            if user is None or login == ADMIN_LOGIN or user.password != password:
                return self.redirect("login.php?echec=1")
            # Success: the shares page itself, straight away.
            session = AltSession(admin=False, user=login)
            response = self.folders_page(session)
            sid = secrets.token_hex(12)
            self.sessions[sid] = session
            response.set_cookie(COOKIE, sid, path="/ecole/")
            return response
        failed = "echec" in request.args
        note = '<div class="alerte">Acc&egrave;s refus&eacute;, recommencez.</div>' if failed else ""
        form = (
            f'{note}<form id="connexion" method="post">Identifiant <input name="login"> '
            'Mot de passe <input type="password" name="motdepasse"> <button>Entrer</button>'
        )
        if session is None:
            session = AltSession(admin=False, user=None)
            response = self.html(_page("Mes partages", f"{form}{_hidden(session)}</form>", menu=False))
            sid = secrets.token_hex(12)
            self.sessions[sid] = session
            response.set_cookie(COOKIE, sid, path="/ecole/")
            return response
        return self.html(_page("Mes partages", f"{form}{_hidden(session)}</form>", menu=False))

    # -- admin pages -------------------------------------------------------------------------

    def index(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        body = (
            f'<h1>Bienvenue</h1><div class="pied">IntraScol <span id="version">\n  {VERSION}\n</span> '
            "&mdash; "
            f'<span id="ecole">{_esc(SCHOOL)}</span></div>'
        )
        return self.html(_page("Accueil", body))

    def classes_page(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        answers: list[tuple[str, str]] = []
        if request.method == "POST" and fields.get("action") == ["supprimer"]:
            answers = self.state.delete_classes(fields.get("classes[]", []))
        rows = []
        for c in sorted(self.state.classes.values(), key=lambda c: -c.id):
            teacher = self.state.users.get(c.responsible)
            shown = (
                f'{_esc(teacher.first_name)} <span class="nomfamille">'
                f"{_esc(teacher.last_name.upper())}</span>"
                if teacher
                else "?"
            )
            rows.append(
                '<tr class="classe ligne">\n <td class="effectif" title="élèves">\n  '
                f"{self.state.size_of(c.id)}\n </td>"
                f'<td class="responsable" data-login="{_esc(c.responsible)}">{shown}</td>'
                f'<td><a href="modifier_classe.php?id={c.id}" class="modifier">Modifier</a> '
                f'<a class="nom" href="utilisateurs.php?classe={c.id}">\n   {_esc(c.name)}\n  </a></td>'
                f'<td><input value="{c.id}" type="checkbox" name="classes[]"></td></tr>'
            )
        body = (
            f'{_messages(answers)}<form method="post" id="form-classes">{_hidden(session)}'
            '<input type="hidden" name="action" value="supprimer">'
            '<table id="classes" class="liste"><tr><th>Effectif</th><th>Enseignant</th><th></th><th>'
            "</th></tr>"
            f'{"".join(rows)}</table><input type="submit" value="Supprimer les classes '
            's&eacute;lectionn&eacute;es"></form>'
        )
        return self.html(_page("Classes", body))

    def users_page(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        answers: list[tuple[str, str]] = []
        if request.method == "POST":
            logins = fields.get("utilisateurs[]", [])
            action = (fields.get("action") or [""])[0]
            if logins and action == "supprimer":
                answers = self.state.delete_users(logins)
            elif logins and action == "transferer":
                answers = self.state.transfer(logins, (fields.get("destination") or [""])[0])
        args = request.args
        users = list(self.state.users.values())
        classe, kind = args.get("classe"), args.get("type")
        if classe == "aucune":
            users = [u for u in users if u.class_id is None]
        elif classe:
            users = [u for u in users if str(u.class_id) == classe]
        if kind in ("eleve", "adulte"):
            users = [u for u in users if u.type == kind]
        self.rng.shuffle(users)  # a new order at every load
        page = int(args.get("page", "1")) if args.get("page", "1").isdigit() else 1
        shown = users[(page - 1) * PER_PAGE : page * PER_PAGE]
        rows = []
        for u in shown:
            school_class = self.state.classes.get(u.class_id) if u.class_id is not None else None
            cell = (
                f'<td class="classe" data-id="{school_class.id}"><a '
                f'href="utilisateurs.php?classe={school_class.id}">'
                f"{_esc(school_class.name)}</a></td>"
                if school_class
                else '<td class="classe"></td>'
            )
            label = "&Eacute;l&egrave;ve" if u.type == "eleve" else "Adulte"
            password = _esc(u.password) if u.type == "eleve" else "********"
            rows.append(
                f'<tr class="utilisateur {u.type}"><td><input name="utilisateurs[]" type="checkbox" '
                f'value="{_esc(u.login)}"></td>'
                f'<td class="prenom">{_esc(u.first_name)}</td><td class="nom">\n {_esc(u.last_name)} </td>'
                f'{cell}<td class="type">{label}</td><td class="motdepasse"><code>{password}</code></td>'
                f'<td class="login"> {_esc(u.login)} </td></tr>'
            )
        pagination = ""
        if page * PER_PAGE < len(users):
            query = [("tri", "hasard"), ("page", str(page + 1))] + [
                (k, v) for k, v in args.items() if k != "page"
            ]
            pagination = f'<a class="suivante" href="?{_esc(urlencode(query))}">Suivante &raquo;</a>'
        body = (
            f'{_messages(answers)}<form id="form-utilisateurs" method="post">{_hidden(session)}'
            f'<table id="utilisateurs" border="1">{"".join(rows)}</table>'
            f'<div id="pagination">Page {page} {pagination}</div>{self._users_actions()}</form>'
        )
        return self.html(_page("Utilisateurs", body))

    def _users_actions(self) -> str:
        """The buttons a person clicks (and whose names a client posts): another order, other labels."""
        options = "".join(
            f'<option value="{c.id}">{_esc(c.name)}</option>' for c in self.state.classes.values()
        )
        return (
            f'<p>Vers <select name="destination">{options}</select> '
            '<button name="action" value="transferer">D&eacute;placer</button> '
            '<button name="action" value="supprimer">Effacer</button></p>'
        )

    def add_user(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        body = ""
        if request.method == "POST":
            user, answers = self.state.create_user(
                *((fields.get(k) or [""])[0] for k in ("prenom", "nom", "type"))
            )
            body = _messages(answers)
            if user is not None:
                options = "".join(
                    f'<option value="{c.id}">{_esc(c.name)}</option>' for c in self.state.classes.values()
                )
                body += (
                    f'<dl><dt>Mot de passe</dt><dd><span id="motdepasse">{_esc(user.password)}</span></dd>'
                    f'<dt>Identifiant</dt><dd><span id="login">{_esc(user.login)}</span></dd></dl>'
                    f'<form id="form-affecter" method="post" action="affecter.php">{_hidden(session)}'
                    f'<input type="hidden" name="login" value="{_esc(user.login)}"><select '
                    f'name="classe">{options}</select>'
                    '<input type="submit" value="Valider"></form>'
                )
        body += (
            f'<form id="form-ajout-utilisateur" method="post">{_hidden(session)}<input name="prenom">'
            '<input name="nom">'
            '<select name="type"><option value="eleve">&Eacute;l&egrave;ve</option><option '
            'value="adulte">Adulte</option></select></form>'
        )
        return self.html(_page("Ajouter", body))

    def assign(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        if request.method != "POST":
            return self.redirect("admin/utilisateurs.php")
        answer = self.state.assign((fields.get("login") or [""])[0], (fields.get("classe") or [""])[0])
        return self.html(_page("Affectation", _messages([answer])))

    def _class_form(self, form_id: str, session: AltSession) -> str:
        adults = "".join(
            f'<option value="{_esc(u.login)}">{_esc(u.login)}</option>'
            for u in self.state.users.values()
            if u.type == "adulte"
        )
        return (
            f'<form id="{form_id}" method="post"><input type="text" name="nom">'
            f'<select name="responsable">{adults}</select>{_hidden(session)}</form>'
        )

    def add_class(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        body = ""
        if request.method == "POST":
            ok, text = self.state.create_class(
                (fields.get("nom") or [""])[0], (fields.get("responsable") or [""])[0]
            )
            body = _messages([("succes" if ok else "erreur", text)])
        return self.html(_page("Créer une classe", body + self._class_form("form-ajout-classe", session)))

    def modify_class(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        raw = request.args.get("id", "")
        body = ""
        if request.method == "POST":
            name = fields["nom"][0] if "nom" in fields else None
            responsible = fields["responsable"][0] if "responsable" in fields else None
            ok, text = self.state.modify_class(int(raw) if raw.isdigit() else -1, name, responsible)
            body = _messages([("succes" if ok else "erreur", text)])
        return self.html(_page("Modifier", body + self._class_form("form-modifier-classe", session)))

    admin_pages: ClassVar[dict[str, _Handler]] = {
        "admin/index.php": index,
        "admin/classes.php": classes_page,
        "admin/utilisateurs.php": users_page,
        "admin/ajout_utilisateur.php": add_user,
        "admin/affecter.php": assign,
        "admin/ajout_classe.php": add_class,
        "admin/modifier_classe.php": modify_class,
    }

    # -- users' side ------------------------------------------------------------------------

    def folders_page(self, session: AltSession) -> Response:
        assert session.user is not None
        items = "".join(
            f'<li class="dossier partage"><img src="dossier.png" alt=""> '
            f'<a href="./partages.php?vue=liste&amp;dossier={fid}">\n  {_esc(name)}\n</a></li>'
            for fid, name in self.state.folders_of(session.user)
        )
        return self.html(
            _page("Mes partages", f'<h2>Mes partages</h2><ul id="partages">{items}</ul>', menu=False)
        )

    def shares(self, request: Request, session: AltSession, fields: dict[str, list[str]]) -> Response:
        assert session.user is not None
        folder_id = request.args.get("dossier")
        if folder_id is None:
            return self.folders_page(session)
        if folder_id not in {fid for fid, _ in self.state.folders_of(session.user)}:
            return self.html(
                _page("Interdit", "<p>Ce dossier ne vous est pas accessible.</p>", menu=False), 403
            )
        answers = []
        if request.method == "POST" and fields.get("action") == ["supprimer"]:
            for file_id in fields.get("fichiers[]", []):
                shared = self.state.files.get(file_id)
                if shared is None or shared.folder_id != folder_id:
                    answers.append(("erreur", f"Fichier {file_id} introuvable."))
                    continue
                del self.state.files[file_id]
                answers.append(("succes", f"Le fichier {shared.path} a été supprimé."))
        rows = "".join(
            '<tr class="fichier"><td><a class="telecharger" '
            f'href="telecharger.php?fichier={f.id}&amp;mode=brut">'
            f'T&eacute;l&eacute;charger</a></td><td class="taille">\n {len(f.data)} </td>'
            f'<td class="chemin">{_esc(f.path)}</td><td><input type="checkbox" value="{f.id}" '
            'name="fichiers[]"></td></tr>'
            for f in sorted(self.state.files.values(), key=lambda f: f.id, reverse=True)
            if f.folder_id == folder_id
        )
        body = (
            f'{_messages(answers)}<form id="form-fichiers" method="post"><input type="hidden" name="action" '
            f'value="supprimer">{_hidden(session)}<table id="fichiers">{rows}</table></form>'
        )
        return self.html(_page("Dossier", body, menu=False))

    def download(self, request: Request, session: AltSession) -> Response:
        assert session.user is not None
        shared = self.state.files.get(request.args.get("fichier", ""))
        reachable = {fid for fid, _ in self.state.folders_of(session.user)}
        if shared is None or shared.folder_id not in reachable:
            return Response("introuvable", status=404)
        name = shared.path.rsplit("/", 1)[-1].encode("ascii", "replace").decode()
        return Response(
            shared.data,
            content_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class AltServer:
    """The alt server serving on loopback in a thread, until `stop()` (also a context manager)."""

    def __init__(self, state: AltState) -> None:
        self.state = state
        self.app = AltServerApp(state)
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.app.origin = f"http://127.0.0.1:{self._server.port}"
        self.url = f"{self.app.origin}{BASE}"
        self.admin_login, self.admin_password = ADMIN_LOGIN, ADMIN_PASSWORD
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> AltServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def alt_school(seed: int = 3) -> AltState:
    """A small school of about sixty accounts (two pages of users), names of every kind."""
    state = AltState(seed)
    teachers = {
        "CP": ("Hélène", "Lefèvre"),
        "CE1": ("Jean-Baptiste", "De La Fontaine"),
        "CE2": ("Zoé", "N'Diaye"),
        "CM1": ("Œdipe", "Bœuf"),
        "CM2": ("Łucja", "Kowalska"),
        DOUBLE_LEVEL: ("Marc", "Dubois"),
        "ULIS": ("Agnès", "Moreau"),
    }
    for name, (first, last) in teachers.items():
        teacher = state.add_user(first, last, "adulte")
        state.add_class(name, teacher.login)
    state.add_user("Sophie", "Martin", "adulte")  # the headmistress's deputy, no class
    first_names = ("Léa", "Noé", "Maëlle", "Łukasz", "Inès", "Hugo", "Jade", "Văn An")
    last_names = ("Durand", "Petit", "Lebœuf", "Nowak", "O'Brien", "Roux", "Faure", "Nguyễn")
    for number, name in enumerate(teachers):
        for k in range(3 if name == "ULIS" else 7):
            first, last = first_names[(k + number) % 8], last_names[(3 * k + 2 * number) % 8]
            state.add_user(first, last, "eleve", name)  # homonyms get numbered logins
    state.add_user("Tom", "Sans-Classe", "eleve")  # a pupil in no class
    state.add_file(DOUBLE_LEVEL, "Exposés/les volcans.odt", b"volcans " * 40)
    state.add_file(DOUBLE_LEVEL, "photo classe.jpg", bytes(range(256)) * 3)
    return state
