"""The route sheet (« fiche de route »): the plan as the clicks of the manual procedure (pure).

For a school whose server the tool cannot or should not drive: every operation of the plan,
in the plan's order, as what to open in IntraScol's admin menu, what to tick there (one box
per pupil or class, to tick on paper) and which button to press, in the words of the
documented procedure and of the admin pages (`docs/intrascol.md`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from reconcile.core.model import UserType, is_new_person
from reconcile.core.operations import (
    ADULT_ORIGIN,
    AssignPupil,
    ChangeResponsible,
    CreateClass,
    CreateUser,
    DeleteClasses,
    DeleteUsers,
    Operation,
    Plan,
    Step,
    TransferPupils,
)
from reconcile.core.wording import NO_CLASS, by_origin, describe_operation, sorted_people, who

# The admin menu's entries and the buttons, as IntraScol shows them.
MENU_USERS = "« Liste des utilisateurs »"
MENU_CLASSES = "« Liste des classes »"
MENU_ADD_USER = "« Ajouter un utilisateur »"
MENU_ADD_CLASS = "« Créer une classe »"

ROUTE_SHEET_TITLE = "Rentrée IntraScol : fiche de route"

ROUTE_SHEET_USE = (
    "Faites les étapes dans l'ordre, sur l'interface d'administration d'IntraScol, et cochez chaque "
    "case sur le papier au fur et à mesure.",
    "Une liste d'utilisateurs tient sur plusieurs pages au-delà de 50 comptes : le lien « Suivante » "
    "en bas de la liste mène à la page suivante ; ce qui est coché sur une page s'applique en "
    "cliquant le bouton de cette page.",
    "Si vous commencez à la main, ne lancez plus « reconcile apply » avec ce classeur : les comptes "
    "déjà créés à la main seraient créés une seconde fois. Pour reprendre avec l'outil, refaites "
    "« reconcile export » et un nouveau classeur.",
)

STEP_ADVICE = {
    Step.CLASSES: "Les enseignants d'abord, puis les classes qu'on leur confie.",
    Step.DEPARTURES: "Les élèves qui quittent l'école sont supprimés avant l'arrivée des nouveaux.",
    Step.ARRIVALS: "Le serveur donne lui-même l'identifiant et le mot de passe de chaque nouveau compte.",
    Step.DISTRIBUTION: (
        "Dans l'ordre de la procédure : d'abord la classe qui reçoit les CM1, puis en remontant jusqu'au CP."
    ),
    Step.CLASS_REMOVALS: (
        "Une classe ne peut être supprimée que si son dossier de travail est vide. Des élèves oubliés "
        "dans une classe supprimée ne sont pas supprimés : ils se retrouvent « classe : aucune »."
    ),
}

FOLDER_WORKAROUND = (
    "Si le serveur répond qu'une classe « ne peut pas être supprimée : son dossier de travail n'est "
    "pas vide » : créez un utilisateur provisoire (élève) et affectez-le à cette classe ; connectez-"
    "vous avec lui du côté des utilisateurs, ouvrez « Mes partages », sauvegardez le dossier de la "
    "classe sur une clé ou sur l'ordinateur, puis supprimez ses fichiers du serveur ; revenez ici et "
    "supprimez la classe, puis l'utilisateur provisoire."
)

FINAL_CHECK = (
    f"Vérifiez les listes : menu {MENU_CLASSES}, chaque classe, comparée au rapport du plan (partie "
    "« Classes »).",
    "Imprimez les listes de classes avec les identifiants et les mots de passe : « reconcile listes ».",
)


@dataclass(frozen=True, slots=True)
class Instruction:
    """One thing to do on a page, and the boxes to tick there (people or classes)."""

    text: str
    ticks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RouteAction:
    """One operation of the plan, as the clicks that do it by hand."""

    op_id: str
    title: str
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True, slots=True)
class RouteStep:
    """One step of the procedure and its actions, in the plan's order."""

    step: Step
    advice: str
    actions: tuple[RouteAction, ...]

    @property
    def heading(self) -> str:
        return self.step.heading


def route_sheet(plan: Plan) -> tuple[RouteStep, ...]:
    """The steps that hold operations, each operation once, in the plan's order."""
    return tuple(
        RouteStep(step, STEP_ADVICE[step], tuple(_action(op, plan) for op in ops))
        for step, ops in plan.steps
        if ops
    )


def _action(op: Operation, plan: Plan) -> RouteAction:
    title = describe_operation(op, plan.names, plan.origins).text
    return RouteAction(op.id, title, _instructions(op, plan))


def _instructions(op: Operation, plan: Plan) -> tuple[Instruction, ...]:
    match op:
        case CreateUser():
            return _creation(op)
        case CreateClass():
            return (
                Instruction(
                    f"Menu {MENU_ADD_CLASS} : nom « {op.name} », enseignant responsable "
                    f"{_responsible(op.responsible, plan)}, puis validez."
                ),
            )
        case ChangeResponsible():
            return (
                Instruction(
                    f"Menu {MENU_CLASSES}, lien « Modifier » de la classe {op.class_name} : enseignant "
                    f"responsable {_responsible(op.responsible, plan)}, puis validez."
                ),
            )
        case AssignPupil():
            return (
                Instruction(
                    f"Sur la page qui vient d'annoncer le compte de {plan.names.get(op.user, op.user)}, plus "
                    f"bas : classe « {op.class_name} », puis « Valider ». (Oublié ? Menu {MENU_USERS}, "
                    f"critère « classe : aucune », cochez l'élève, classe de destination {op.class_name}, "
                    "« Transférer les utilisateurs ».)"
                ),
            )
        case DeleteUsers():
            return _per_page(op.logins, plan, "En bas de la page : « Supprimer les utilisateurs ».")
        case TransferPupils():
            return _per_page(
                op.logins,
                plan,
                f"Classe de destination : « {op.class_name} », puis « Transférer les utilisateurs ».",
            )
        case DeleteClasses():
            return (
                Instruction(f"Menu {MENU_CLASSES} ; cochez :", op.class_names),
                Instruction("Puis « Supprimer les classes sélectionnées »."),
                Instruction(FOLDER_WORKAROUND),
            )
        case _:
            assert_never(op)


def _creation(op: CreateUser) -> tuple[Instruction, ...]:
    kind = "Adulte" if op.type is UserType.ADULT else "Élève"
    steps = [
        Instruction(
            f"Menu {MENU_ADD_USER} : prénom « {op.first_name} », nom « {op.last_name} », "
            f"{kind.lower()}, puis « Ajouter l'utilisateur »."
        )
    ]
    if op.type is UserType.ADULT:
        steps.append(Instruction("Notez l'identifiant que le serveur lui donne : ____________________"))
    return tuple(steps)


def _responsible(key: str, plan: Plan) -> str:
    if is_new_person(key):
        return f"{plan.names.get(key, key)} (l'identifiant noté à sa création)"
    return who(key, plan.names)


def _per_page(logins: tuple[str, ...], plan: Plan, finish: str) -> tuple[Instruction, ...]:
    """Users are ticked on the list of where they are: one page (and one button) per group."""
    instructions: list[Instruction] = []
    for origin, group in by_origin(logins, plan.origins).items():
        instructions.append(
            Instruction(f"{_open_list_of(origin)} ; cochez :", tuple(sorted_people(group, plan.names)))
        )
        instructions.append(Instruction(finish))
    return tuple(instructions)


def _open_list_of(origin: str) -> str:
    if origin == ADULT_ORIGIN:
        return f"Menu {MENU_USERS}, critère « adultes »"
    if origin == NO_CLASS:
        return f"Menu {MENU_USERS}, critère « classe : aucune »"
    return f"Menu {MENU_CLASSES}, cliquez sur la classe {origin}"
